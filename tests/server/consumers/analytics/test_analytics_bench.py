"""``stx bench analytics`` on a tiny day, and the rebuild it times."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from server.bench.analytics_bench import simulate_day
from server.cli import main
from server.consumers.analytics.facts import EVENT_ROW_COLUMNS, Facts
from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.store import AnalyticsStore

REPORTS = {
    "trade_report", "profit_and_loss", "order_statistics", "market_statistics", "order_events",
    "transaction_reports", "clock_synchronisation", "execution_quality",
}  # fmt: skip


def test_bench_analytics_counts_every_row_and_times_every_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["bench", "analytics", "--events", "3000", "--keep", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    tables = figures["tables"]
    assert all(count > 0 for count in tables.values()), tables
    assert figures["events"] == sum(tables.values())
    assert 2_500 < figures["events"] < 3_500  # --events is met about
    assert figures["ingest_events_per_sec"] > 0
    assert figures["ingest_cpu_seconds"] > 0
    assert figures["arrow_seconds"] + figures["insert_seconds"] <= figures["ingest_seconds"]
    assert set(figures["report_ms"]) == REPORTS
    assert figures["report_account_events"] > 0
    assert figures["report_day"] == "2026-12-07"
    journal = sorted((tmp_path / "journal").iterdir())

    again = CliRunner().invoke(
        main, ["bench", "analytics", "--events", "3000", "--keep", str(tmp_path), "--json"]
    )
    assert again.exit_code == 0, again.output
    # The kept journal is ingested again, not simulated again.
    assert sorted((tmp_path / "journal").iterdir()) == journal
    assert json.loads(again.output)["tables"] == tables


def test_bench_analytics_prints_its_figures_for_a_person() -> None:
    result = CliRunner().invoke(main, ["bench", "analytics", "--events", "500"])
    assert result.exit_code == 0, result.output
    assert "events/s" in result.output
    assert "clock_synchronisation" in result.output


def _rows(store: AnalyticsStore) -> dict[str, list[tuple[object, ...]]]:
    reader = store.reader()
    return {
        table: reader.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("order_events", "trades", "quotes")
    }


def test_a_rebuild_in_small_batches_stores_what_one_batch_stores(tmp_path: Path) -> None:
    """Each batch is written on a thread while the next is replayed: in
    order, each with its position, whatever the batch size."""
    simulate_day(tmp_path / "journal", 600)
    whole = AnalyticsStore.open(None)
    small = AnalyticsStore.open(None)
    assert rebuild(whole, tmp_path / "journal", batch=10_000) == 608  # 8 instruments listed
    assert rebuild(small, tmp_path / "journal", batch=7) == 608
    assert _rows(small) == _rows(whole)
    assert sum(len(rows) for rows in _rows(whole).values()) > 1_000


def _parquet_bytes(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*.parquet"))
    }


def test_a_large_store_exports_the_same_bytes_every_time(tmp_path: Path) -> None:
    """Beyond one row group (122,880 rows), DuckDB's two threads wrote a
    partition's rows in whichever order they delivered them, and rows of one
    command tied on ``sequence``: two exports of one store differed (135,000
    rows here; a 100,000-command simulated day showed it first)."""
    facts = Facts(last_sequence=45_000)
    width = len(EVENT_ROW_COLUMNS)
    for sequence in range(1, 45_001):
        for index in range(3):  # three reports a command, as a fill gives
            row: list[object] = [0] * width
            row[EVENT_ROW_COLUMNS.index("sequence")] = sequence
            row[EVENT_ROW_COLUMNS.index("event_index")] = index
            row[EVENT_ROW_COLUMNS.index("order_id")] = sequence * 3 + index
            row[EVENT_ROW_COLUMNS.index("day")] = 20_000
            for name in ("client_order_id", "client_request_id", "user_id", "source", "gateway"):
                row[EVENT_ROW_COLUMNS.index(name)] = ""
            row[EVENT_ROW_COLUMNS.index("account_id")] = f"A{index}"
            row[EVENT_ROW_COLUMNS.index("symbol")] = "AAPL" if sequence % 2 else "MSFT"
            facts.events.append(tuple(row))
    store = AnalyticsStore.open(None)
    store.write(facts)
    store.export_parquet(tmp_path / "one")
    store.export_parquet(tmp_path / "two")
    one, two = _parquet_bytes(tmp_path / "one"), _parquet_bytes(tmp_path / "two")
    assert len(one) == 2  # one file per day and symbol
    assert one == two
