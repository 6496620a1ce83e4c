"""Comparing a store with an independent replay of the whole journal."""

from __future__ import annotations

from pathlib import Path

from matching import Engine, Trade
from server.journal.codec import decode
from server.journal.format import scan
from server.model.registry import OrderRegistry, Report
from server.model.sequenced import Sequenced
from server.store import Store, schema
from server.store.batch import REPORT_COLUMNS, Row, order_row


def all_records(directory: Path) -> list[tuple[int, bytes]]:
    """Every record of every segment, which must start at 1 and have no gap."""
    records: list[tuple[int, bytes]] = []
    for path in sorted(directory.glob("journal-*.log")):
        found = scan(path.read_bytes(), int(path.stem.split("-")[1]))
        assert found.problem is None, found.problem
        records.extend(found.records)
    assert [sequence for sequence, _ in records] == list(range(1, len(records) + 1))
    return records


def replay(
    directory: Path,
) -> tuple[int, list[Report], dict[int, Row], list[tuple[int, Trade]]]:
    """Last sequence, every report, final orders and every trade with its
    time, from record 1."""
    engine = Engine()
    registry = OrderRegistry(finished_kept=10**9)
    reports: list[Report] = []
    trades: list[tuple[int, Trade]] = []
    records = all_records(directory)
    for sequence, payload in records:
        command, client_order_id = decode(payload)
        events = engine.process(command)
        trades.extend((command.timestamp, event) for event in events if isinstance(event, Trade))
        reports.extend(registry.apply([Sequenced(sequence, command, events, client_order_id)]))
    orders = {order_id: order_row(record, 0) for order_id, record in registry.orders.items()}
    return len(records), reports, orders, trades


def expected_bars(trades: list[tuple[int, Trade]]) -> dict[tuple[str, int, int], tuple[int, ...]]:
    """OHLCV, notional and count per (symbol, interval, start), computed afresh."""
    lengths = {1: 1, 2: 60, 3: 300, 4: 3_600, 5: 86_400}
    bars: dict[tuple[str, int, int], list[int]] = {}
    for when, trade in trades:
        for interval, seconds in lengths.items():
            start = when // (seconds * 10**9) * seconds * 10**9
            bar = bars.get((trade.symbol, interval, start))
            if bar is None:
                bars[(trade.symbol, interval, start)] = [
                    trade.price, trade.price, trade.price, trade.price,
                    trade.quantity, trade.price * trade.quantity, 1,
                ]  # fmt: skip
                continue
            bar[1] = max(bar[1], trade.price)
            bar[2] = min(bar[2], trade.price)
            bar[3] = trade.price
            bar[4] += trade.quantity
            bar[5] += trade.price * trade.quantity
            bar[6] += 1
    return {key: tuple(value) for key, value in bars.items()}


async def check_store_matches_journal(store: Store, directory: Path) -> None:
    last, reports, orders, trades = replay(directory)
    assert await store.position() == last
    assert await store.count(schema.audit_log) == last
    stored_reports = await store.rows(schema.order_events, ["account_id", "report_sequence"])
    assert sorted(
        tuple(row._mapping[column] for column in REPORT_COLUMNS) for row in stored_reports
    ) == sorted(tuple(report) for report in reports)
    stored_orders = {
        row.order_id: {**row._mapping, "sequence": 0}
        for row in await store.rows(schema.orders, ["order_id"])
    }
    assert stored_orders == orders
    stored_trades = await store.rows(schema.trades, ["trade_id"])
    assert [(row.trade_id, row.price, row.quantity) for row in stored_trades] == [
        (trade.trade_id, trade.price, trade.quantity) for _, trade in trades
    ]
    assert await store.count(schema.executions) == 2 * len(trades)
    stored_bars = {
        (row.symbol, row.interval, row.start_time): (
            row.open_price, row.high_price, row.low_price, row.close_price, row.volume,
            int(row.notional), row.trade_count,
        )
        for row in await store.rows(schema.bars, ["symbol", "interval", "start_time"])
    }  # fmt: skip
    assert stored_bars == expected_bars(trades)
