"""The reports against values computed by hand on the crafted days
(``crafted.py``), and the store built from the journal: idempotent, and the
same whether built at once or followed live across a restart."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from stocktraderx.v1 import analytics_pb2 as pb
from stocktraderx.v1 import common_pb2, orders_pb2

from matching import NewOrder, OrderType, Side
from server.analytics_cli import analytics
from server.bench.workload import instruments
from server.config import ConfigError, from_mapping, load
from server.consumers.analytics import reports
from server.consumers.analytics.facts import Facts
from server.consumers.analytics.follower import AnalyticsFollower, facts_of, rebuild
from server.consumers.analytics.store import AnalyticsStore, StoreVersionError
from server.consumers.sources import Shadow
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.files import list_segments, list_snapshots
from server.journal.tail import JournalTail
from tests.server.consumers.analytics.crafted import (
    DAY_1,
    DAY_2,
    Clock,
    craft,
    crafted_journal,
)

DAY_3 = datetime.date(2026, 3, 4)
DAY_3_OPEN = int(datetime.datetime(2026, 3, 4, 14, 30, tzinfo=datetime.UTC).timestamp()) * 10**9


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    directory = tmp_path_factory.mktemp("crafted")
    return directory, crafted_journal(directory)


@pytest.fixture(scope="module")
def store(crafted: tuple[Path, int]) -> AnalyticsStore:
    directory, last = crafted
    built = AnalyticsStore.open(None)
    assert rebuild(built, directory, last) == last
    return built


def test_the_trade_report_lists_the_days_fills_and_totals(store: AnalyticsStore) -> None:
    report = reports.trade_report(store.reader(), "T", DAY_1, "", 1000, 0)
    assert [(fill.price, fill.quantity, fill.side) for fill in report.fills] == [
        (1_900_000, 100, 1), (1_920_000, 50, 1), (1_950_000, 60, 2),
    ]  # fmt: skip
    assert [fill.client_order_id for fill in report.fills] == ["t1", "t2", "t3"]
    assert report.fills[2].notional == "11700.0000"
    assert report.fills[2].transact_time.ToJsonString() == "2026-03-02T14:30:14Z"
    (summary,) = report.summaries
    assert summary == pb.TradeReportSummary(
        symbol="AAPL", fill_count=3, bought_quantity=150, sold_quantity=60,
        bought_notional="28600.0000", sold_notional="11700.0000",
        average_buy_price=1_906_667,  # 28,600 / 150 = 190.66666..
        average_sell_price=1_950_000,
    )  # fmt: skip
    assert not report.next_page_token
    assert not reports.trade_report(store.reader(), "T", DAY_1, "MSFT", 1000, 0).fills


def test_the_trade_report_pages_by_report_sequence(store: AnalyticsStore) -> None:
    first = reports.trade_report(store.reader(), "T", DAY_1, "", 2, 0)
    assert len(first.fills) == 2
    assert first.next_page_token
    rest = reports.trade_report(store.reader(), "T", DAY_1, "", 2, int(first.next_page_token))
    assert [fill.client_order_id for fill in rest.fills] == ["t3"]
    assert not rest.next_page_token
    assert rest.summaries == first.summaries


def test_profit_and_loss_with_a_partial_close(store: AnalyticsStore) -> None:
    statement = reports.profit_and_loss(store.reader(), "T", DAY_1)
    (position,) = statement.positions
    assert position == pb.PositionProfitAndLoss(
        symbol="AAPL", opening_quantity=0, bought_quantity=150, sold_quantity=60,
        closing_quantity=90, average_cost=1_906_667, closing_price=1_950_000,
        realized_pnl=2_600_000,  # 60 x 195.00 - 60/150 x 28,600.00 = 11,700 - 11,440
        unrealized_pnl=3_900_000,  # 90 x 195.00 - 17,160.00
    )  # fmt: skip
    assert (statement.realized_pnl, statement.unrealized_pnl, statement.total_pnl) == (
        2_600_000, 3_900_000, 6_500_000,
    )  # fmt: skip


def test_profit_and_loss_through_a_position_flip(
    store: AnalyticsStore, crafted: tuple[Path, int]
) -> None:
    statement = reports.profit_and_loss(store.reader(), "T", DAY_2)
    (position,) = statement.positions
    assert position == pb.PositionProfitAndLoss(
        symbol="AAPL", opening_quantity=90, bought_quantity=20, sold_quantity=150,
        closing_quantity=-40, average_cost=2_000_000, closing_price=1_980_000,
        # closing 90: 18,000.00 - 17,160.00 = 840.00; covering 20 of the short
        # 60 @ 200.00 at 198.00: 40.00
        realized_pnl=8_800_000,
        unrealized_pnl=800_000,  # -40 x 198.00 + 8,000.00
    )  # fmt: skip
    assert statement.total_pnl == 9_600_000
    # The engine's own ledger booked the same two days.
    directory, last = crafted
    ledger = Shadow.at(directory, last).engine.risk.accounts["T"].holding("AAPL")
    assert ledger.realized == 2_600_000 + 8_800_000
    assert ledger.quantity == -40


def test_order_statistics_of_the_day(store: AnalyticsStore) -> None:
    statistics = reports.order_statistics(store.reader(), "T", DAY_1)
    expected = pb.OrderStatistics(
        symbol="AAPL", order_count=4, rejected_count=1, filled_count=3, canceled_count=1,
        ordered_quantity=310, filled_quantity=210, fill_count=3,
        fill_ratio="0.6774",  # 210 / 310
        order_to_trade_ratio="1.3333",  # 4 orders, 3 fills
        cancel_rate="0.2500",
        average_fill_micros=3_333_333,  # (0 + 0 + 10 s) / 3
        # t1 and t2 took the only offer at its price; t3 arrived to an empty
        # book (no arrival price) and its one fill made its interval's VWAP.
        arrival_slippage_bps="0.0000", vwap_slippage_bps="0.0000", arrival_priced_quantity=150,
    )  # fmt: skip
    assert list(statistics.symbols) == [expected]
    expected.symbol = ""
    assert statistics.total == expected


def test_market_statistics_with_vwap(store: AnalyticsStore) -> None:
    statistics = reports.market_statistics(store.reader(), DAY_1, "")
    assert list(statistics.symbols) == [
        pb.MarketStatistics(
            symbol="AAPL", trade_count=3, volume=210, notional="40300.0000",
            vwap=1_919_048,  # 40,300.00 / 210 = 191.904761..
            open_price=1_900_000, high_price=1_950_000, low_price=1_900_000,
            close_price=1_950_000,
        )
    ]  # fmt: skip
    assert not reports.market_statistics(store.reader(), DAY_1, "MSFT").symbols


def _contents(store: AnalyticsStore) -> tuple[object, ...]:
    reader = store.reader()
    return tuple(
        reader.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("order_events", "trades", "quotes", "latencies")
    )


def test_building_twice_gives_identical_stores_and_parquet(
    crafted: tuple[Path, int], store: AnalyticsStore, tmp_path: Path
) -> None:
    directory, last = crafted
    again = AnalyticsStore.open(tmp_path / "again.duckdb")
    rebuild(again, directory, last, batch=3)  # other batch boundaries, same facts
    assert _contents(again) == _contents(store)
    # Facts offered again (a retried batch) are refused by their position.
    shadow = Shadow.at(directory, 0)
    assert not again.write(facts_of(shadow, JournalTail(directory, 0).read(10)))
    assert _contents(again) == _contents(store)
    store.export_parquet(tmp_path / "one")
    again.export_parquet(tmp_path / "two")
    files = sorted(path.relative_to(tmp_path / "one") for path in (tmp_path / "one").rglob("*"))
    assert Path("trades/day=2026-03-02/symbol=AAPL") in files
    assert files == sorted(
        path.relative_to(tmp_path / "two") for path in (tmp_path / "two").rglob("*")
    )
    for name in files:
        if (tmp_path / "one" / name).is_file():
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_the_follower_resumes_after_a_restart_without_gaps_or_duplicates(
    tmp_path: Path, crafted: tuple[Path, int], store: AnalyticsStore
) -> None:
    async def scenario() -> None:
        data = tmp_path / "data"
        core = await craft(data)
        sequencer = core.sequencer
        path = tmp_path / "live.duckdb"
        first = AnalyticsFollower(
            AnalyticsStore.open(path), data, committed=lambda: sequencer.durable_sequence,
            batch_commands=4,
        )  # fmt: skip
        await first.start()
        while first.position < 8:
            await asyncio.sleep(0.005)
        await first.stop()  # as a crash would: between two batches
        first.store.close()
        assert 0 < first.position < sequencer.sequence
        second = AnalyticsFollower(
            AnalyticsStore.open(path), data, committed=lambda: sequencer.durable_sequence
        )
        await second.start()
        assert second.position == first.position
        await second.caught_up(sequencer.sequence)
        await second.stop()
        assert _contents(second.store) == _contents(store)
        second.store.close()
        await core.close()

    asyncio.run(scenario())


def test_stx_analytics_rebuild_builds_a_store_and_its_parquet(
    crafted: tuple[Path, int], store: AnalyticsStore, tmp_path: Path
) -> None:
    directory, last = crafted
    out = tmp_path / "parquet"
    built = tmp_path / "built.duckdb"
    arguments = ["rebuild", "--data-dir", str(directory), "--store", str(built)]
    result = CliRunner().invoke(analytics, [*arguments, "--parquet", str(out)])
    assert result.exit_code == 0, result.output
    assert f"analytics store at journal sequence {last} in {built}" in result.output
    rebuilt = AnalyticsStore.open(built)
    assert _contents(rebuilt) == _contents(store)
    rebuilt.close()
    exported = (
        store.reader()
        .execute(f"SELECT count(*) FROM read_parquet('{out}/trades/**/*.parquet')")
        .fetchone()
    )
    assert exported == (5,)  # 3 trades on the first day, 2 on the second
    nothing = CliRunner().invoke(analytics, ["rebuild", "--data-dir", str(directory)])
    assert nothing.exit_code == 2
    assert "give --store, --parquet or both" in nothing.output


def test_a_store_new_to_a_pruned_journal_starts_at_its_oldest_snapshot(tmp_path: Path) -> None:
    data = tmp_path / "data"
    crafted_journal(data)  # closed with a snapshot; the next records go to a new segment
    (snapshot, _), *_ = list_snapshots(data)
    first_segment = list_segments(data)[0][1]
    first_segment.unlink()  # as the core's pruning would, before analytics ever ran

    async def a_third_day() -> int:
        clock = Clock(DAY_3_OPEN)
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE, clock=clock)
        for account, side in (("MM", Side.SELL), ("T", Side.BUY)):
            clock.now += 1
            core.sequencer.submit(
                NewOrder(clock.now, account, "AAPL", side, OrderType.LIMIT, 10, 1_900_000)
            )
        await core.sequencer.durable()
        last = core.sequencer.sequence
        await core.close()
        return last

    last = asyncio.run(a_third_day())
    fresh = AnalyticsStore.open(None)
    assert rebuild(fresh, data) >= last
    assert not reports.market_statistics(fresh.reader(), DAY_1, "").symbols
    (third,) = reports.market_statistics(fresh.reader(), DAY_3, "").symbols
    assert (third.trade_count, third.volume) == (1, 10)
    assert fresh.reader().execute("SELECT min(sequence) FROM order_events").fetchone() == (
        snapshot + 1,
    )


def test_the_order_event_trail_lists_every_lifecycle_event_in_engine_order(
    store: AnalyticsStore,
) -> None:
    trail = reports.order_events(store.reader(), DAY_1, "T", 1000, (0, -1))
    new, fill, canceled, rejected = (
        orders_pb2.EXEC_TYPE_NEW, orders_pb2.EXEC_TYPE_FILL,
        orders_pb2.EXEC_TYPE_CANCELED, orders_pb2.EXEC_TYPE_REJECTED,
    )  # fmt: skip
    assert [(event.client_order_id, event.exec_type) for event in trail.events] == [
        ("t1", new), ("t1", fill), ("t2", new), ("t2", fill), ("t3", new), ("t3", fill),
        ("t4", new), ("t4", canceled), ("t5", rejected),
    ]  # fmt: skip
    assert [event.report_sequence for event in trail.events] == list(range(1, 10))
    assert trail.events[7].cancel_reason == common_pb2.CANCEL_REASON_USER_REQUESTED
    assert trail.events[8].reject_reason == common_pb2.REJECT_REASON_PRICE_NOT_ON_TICK
    assert trail.events[5].event_time.ToJsonString() == "2026-03-02T14:30:14Z"
    everyone = reports.order_events(store.reader(), DAY_1, "", 1000, (0, -1))
    assert {event.account_id for event in everyone.events} == {"T", "MM"}
    paged: list[pb.OrderEvent] = []
    after = (0, -1)
    while True:
        page = reports.order_events(store.reader(), DAY_1, "", 4, after)
        paged.extend(page.events)
        if not page.next_page_token:
            break
        sequence, index = page.next_page_token.split("-")
        after = (int(sequence), int(index))
    assert paged == list(everyone.events)


class BrokenStore(AnalyticsStore):
    """A store whose writes fail, as a full disk would make them."""

    def write(self, facts: Facts) -> bool:
        raise OSError("No space left on device")


def test_a_follower_that_cannot_write_says_so_at_once(
    crafted: tuple[Path, int], caplog: pytest.LogCaptureFixture
) -> None:
    directory, last = crafted

    async def scenario() -> None:
        follower = AnalyticsFollower(BrokenStore.open(None), directory, committed=lambda: last)
        await follower.start()
        with pytest.raises(OSError, match="No space left"):
            await follower.caught_up(last, timeout=20)
        await follower.stop()

    asyncio.run(scenario())
    (record,) = [record for record in caplog.records if record.levelname == "CRITICAL"]
    assert record.getMessage() == "the analytics store stopped following the journal"


def test_profit_and_loss_charges_the_configured_fee_on_the_days_fills(
    store: AnalyticsStore,
) -> None:
    # 25 bp of day 1's fills: 19,000.00 -> 47.50, 9,600.00 -> 24.00, 11,700.00 -> 29.25
    statement = reports.profit_and_loss(store.reader(), "T", DAY_1, fee_bps=25)
    (position,) = statement.positions
    assert position.fees == 475_000 + 240_000 + 292_500
    assert statement.fees == position.fees
    assert statement.net_pnl == 6_500_000 - 1_007_500
    assert reports.profit_and_loss(store.reader(), "T", DAY_1).net_pnl == 6_500_000


def test_the_fee_is_a_setting_in_basis_points() -> None:
    assert from_mapping({"analytics": {"fee_bps": 25}}).fee_bps == 25
    assert load(environ={"STX_FEE_BPS": "3"}).fee_bps == 3
    for wrong in ({"fee_bps": -1}, {"fee_bps": 10_001}, {"fees": 1}):
        with pytest.raises(ConfigError):
            from_mapping({"analytics": wrong})


def test_the_profit_and_loss_timeline_follows_the_days_fills(store: AnalyticsStore) -> None:
    def points(day: datetime.date) -> list[tuple[str, int, int]]:
        timeline = reports.profit_and_loss(store.reader(), "T", day).timeline
        return [(p.time.ToJsonString(), p.realized_pnl, p.unrealized_pnl) for p in timeline]

    assert points(DAY_1) == [
        ("2026-03-02T14:30:01Z", 0, 0),  # 100 @ 190.00, marked there
        ("2026-03-02T14:30:03Z", 0, 2_000_000),  # 150 cost 28,600.00 marked at 192.00
        ("2026-03-02T14:30:14Z", 2_600_000, 3_900_000),  # the statement's own figures
    ]
    # Day 2 opens with 90 (cost 17,160.00); selling 150 @ 200.00 realises
    # 840.00 and leaves -60 @ 200.00; covering 20 @ 198.00 realises 40.00
    # and marks -40 at 198.00: +80.00.
    assert points(DAY_2) == [
        ("2026-03-03T14:30:01Z", 8_400_000, 0),
        ("2026-03-03T14:30:03Z", 8_800_000, 800_000),
    ]


def test_a_store_of_an_older_schema_is_set_aside_and_started_anew(tmp_path: Path) -> None:
    path = tmp_path / "analytics.duckdb"
    old = AnalyticsStore.open(path)
    old.write(Facts(last_sequence=7))
    old.reader().execute("UPDATE position SET version = 1")
    old.close()
    with pytest.raises(StoreVersionError, match="schema version 1"):
        AnalyticsStore.open(path)
    fresh = AnalyticsStore.open_current(path)
    assert fresh.position() == 0  # rebuilt from the journal by the follower
    fresh.close()
    kept = duckdb.connect(str(tmp_path / "analytics.duckdb.v1"), read_only=True)
    assert kept.execute("SELECT last_sequence, version FROM position").fetchone() == (7, 1)
    kept.close()
