"""What one batch of projected commands writes: rows per table.

Built from the same things the live server derives from a command (its
events, and the execution reports the order registry makes of them), so the
store says exactly what clients were told. Rows that describe a current
state (orders, instruments, bars) are keyed, and a later command in the same
batch overwrites the earlier row: the store gets one upsert per key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stocktraderx.v1 import orders_pb2 as pb

from feeds.market import MarketState
from matching import (
    AddInstrument,
    Command,
    Engine,
    Event,
    Trade,
    TradingPhaseChanged,
)
from server.audit import AUDIT_FIELDS, GENESIS, entry_hash
from server.journal.codec import Origin
from server.model.registry import OrderRecord, OrderRegistry, Report

Row = dict[str, Any]

BAR_SECONDS = {1: 1, 2: 60, 3: 300, 4: 3_600, 5: 86_400}
"""The contract's BarInterval numbers and their lengths. Days are UTC days,
which the epoch's whole-day multiples are."""
_FILLS = frozenset((pb.EXEC_TYPE_FILL, pb.EXEC_TYPE_PARTIAL_FILL))
_NANOS = 1_000_000_000


@dataclass
class ProjectionBatch:
    last_sequence: int = 0
    audit: list[Row] = field(default_factory=list)
    order_events: list[Row] = field(default_factory=list)
    executions: list[Row] = field(default_factory=list)
    trades: list[Row] = field(default_factory=list)
    accounts: dict[str, Row] = field(default_factory=dict)
    orders: dict[int, Row] = field(default_factory=dict)
    instruments: dict[str, Row] = field(default_factory=dict)
    bars: dict[tuple[str, int, int], Row] = field(default_factory=dict)
    quotes: dict[str, bytes] = field(default_factory=dict)
    """Serialised level 1 quotes of the symbols the batch changed (for Redis)."""

    @property
    def events(self) -> int:
        """Rows this batch writes: the projector's unit of throughput."""
        return (
            len(self.audit) + len(self.order_events) + len(self.executions) + len(self.trades)
            + len(self.accounts) + len(self.orders) + len(self.instruments) + len(self.bars)
        )  # fmt: skip


class BarBook:
    """The newest bar of every symbol and interval, as projection left it."""

    def __init__(self, rows: list[Row] | None = None) -> None:
        self.current: dict[tuple[str, int], Row] = {}
        for row in rows or ():
            self.current[(row["symbol"], row["interval"])] = dict(row)

    def add(self, trade: Trade, sequence: int, when: int, batch: ProjectionBatch) -> None:
        for interval, seconds in BAR_SECONDS.items():
            length = seconds * _NANOS
            start = when - when % length
            key = (trade.symbol, interval)
            bar = self.current.get(key)
            if bar is None or bar["start_time"] != start:
                bar = {
                    "symbol": trade.symbol,
                    "interval": interval,
                    "start_time": start,
                    "open_price": trade.price,
                    "high_price": trade.price,
                    "low_price": trade.price,
                    "close_price": trade.price,
                    "volume": 0,
                    "notional": "0",
                    "trade_count": 0,
                    "sequence": sequence,
                }
                self.current[key] = bar
            bar["high_price"] = max(bar["high_price"], trade.price)
            bar["low_price"] = min(bar["low_price"], trade.price)
            bar["close_price"] = trade.price
            bar["volume"] += trade.quantity
            bar["notional"] = str(int(bar["notional"]) + trade.price * trade.quantity)
            bar["trade_count"] += 1
            bar["sequence"] = sequence
            batch.bars[(trade.symbol, interval, start)] = dict(bar)


def order_row(record: OrderRecord, sequence: int) -> Row:
    return {
        "order_id": record.order_id,
        "client_order_id": record.client_order_id,
        "account_id": record.account,
        "symbol": record.symbol,
        "side": record.side,
        "order_type": record.order_type,
        "time_in_force": record.time_in_force,
        "price": record.price,
        "stop_price": record.stop_price,
        "quantity": record.quantity,
        "display_quantity": record.display_quantity,
        "post_only": record.post_only,
        "self_trade_prevention": record.self_trade_prevention,
        "expire_time": record.expire_time,
        "status": record.status,
        "leaves_quantity": record.leaves_quantity,
        "cum_quantity": record.cum_quantity,
        "avg_price": record.avg_price,
        "reject_reason": record.reject_reason,
        "cancel_reason": record.cancel_reason,
        "create_time": record.create_time,
        "update_time": record.update_time,
        "last_report_sequence": record.last_report_sequence,
        "sequence": sequence,
    }


REPORT_COLUMNS = tuple("account_id" if name == "account" else name for name in Report._fields)


class AuditChain:
    """The hash of the newest audit entry, which the next one links to."""

    def __init__(self, last_hash: str = GENESIS) -> None:
        self.last_hash = last_hash


def add_command(
    batch: ProjectionBatch,
    sequence: int,
    command: Command,
    client_order_id: str,
    payload: bytes,
    events: list[Event],
    reports: list[Report],
    registry: OrderRegistry,
    engine: Engine,
    bar_book: BarBook,
    market: MarketState,
    chain: AuditChain,
    origin: Origin | None = None,
) -> None:
    """Add the rows of one applied command to ``batch``; ``market`` is the
    public market state before the command (for the trade channel's numbers)."""
    when = command.timestamp
    account = getattr(command, "account", "")
    batch.last_sequence = sequence
    entry: Row = {
        "sequence": sequence,
        "time": when,
        "account_id": account,
        "action": type(command).__name__,
        "client_order_id": client_order_id,
        "detail": payload.decode(),
        "user_id": origin.user_id if origin else "",
        "source": origin.source if origin else "",
        "gateway": origin.gateway if origin else "",
        "previous_hash": chain.last_hash,
    }
    entry["hash"] = chain.last_hash = entry_hash(chain.last_hash, entry, AUDIT_FIELDS)
    batch.audit.append(entry)
    if account and account not in batch.accounts:
        batch.accounts[account] = {
            "account_id": account,
            "first_sequence": sequence,
            "first_time": when,
        }
    for report in reports:
        batch.order_events.append(dict(zip(REPORT_COLUMNS, report, strict=True)))
        record = registry.orders.get(report.order_id)
        if record is not None:
            batch.orders[record.order_id] = order_row(record, sequence)
        if report.exec_type in _FILLS:
            batch.executions.append(
                {
                    "trade_id": report.trade_id,
                    "side": report.side,
                    "order_id": report.order_id,
                    "account_id": report.account,
                    "symbol": report.symbol,
                    "price": report.last_price,
                    "quantity": report.last_quantity,
                    "liquidity": report.liquidity,
                    "report_sequence": report.report_sequence,
                    "sequence": sequence,
                    "transact_time": when,
                }
            )
    prints: dict[str, int] = {}
    for event in events:
        kind = type(event)
        if kind is Trade:
            assert isinstance(event, Trade)
            side = event.aggressor_side
            symbol_market = market.markets.get(event.symbol)
            printed = prints.get(event.symbol)
            if printed is None:
                printed = symbol_market.trades_sequence if symbol_market is not None else 0
            prints[event.symbol] = printed + 1
            batch.trades.append(
                {
                    "trade_id": event.trade_id,
                    "symbol": event.symbol,
                    "price": event.price,
                    "quantity": event.quantity,
                    "aggressor_side": 0 if side is None else int(side),
                    "buy_order_id": event.buy_order_id,
                    "sell_order_id": event.sell_order_id,
                    "buy_account_id": event.buy_account,
                    "sell_account_id": event.sell_account,
                    "channel_sequence": printed + 1,
                    "sequence": sequence,
                    "trade_time": when,
                }
            )
            bar_book.add(event, sequence, when, batch)
        elif kind is TradingPhaseChanged or isinstance(command, AddInstrument):
            symbol = getattr(event, "symbol", "")
            book = engine.books.get(symbol)
            if book is not None:
                instrument = book.instrument
                batch.instruments[symbol] = {
                    "symbol": symbol,
                    "tick_size": instrument.tick_size,
                    "lot_size": instrument.lot_size,
                    "max_order_quantity": instrument.max_order_quantity,
                    "price_band_bps": instrument.price_band_bps,
                    "reference_price": book.reference_price,
                    "trading_phase": int(book.phase),
                    "sequence": sequence,
                }
