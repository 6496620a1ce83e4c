"""The analytical store's facts: what one replayed command adds, as columns.

Three fact tables, all append-only and keyed by the engine sequence of the
command that caused them (which makes ingest idempotent, ``store.py``):

- ``order_events``: every execution report, the order's whole life (new,
  fills, cancels, replaces, rejections, expiry, triggers) with the time to
  the nanosecond as journaled and the sender of the command as the journal
  recorded it (user, address, gateway). The sender goes only on reports of
  the sender's own account: a passive fill is caused by the counterparty's
  command, whose user is none of this account's business.
- ``trades``: every print, both sides.
- ``latencies``: for each command a gateway sent, the time from the gateway
  making it to the sequencer stamping it (the journal's origin carries the
  gateway's time since it was kept; older records and the exchange's own
  commands have none, so no row).
- ``quotes``: the market each new order arrived to: its symbol's best bid
  and offer (price and visible shares) just before the engine applied the
  order, the arrival price of slippage and the spreads of execution quality
  (``reports.py``, docs/compliance.md). The replay keeps the last top of
  book it saw per symbol from the engine's own ``TopOfBookChanged`` events,
  so no book is read per command.

Executions are the fill reports among the order events (a view in the store),
and an order's arrival is its first report, so neither is stored twice.
Rows become one Arrow table per batch: the store takes a whole table in one
statement (decision 0007 measured row by row inserts at about a hundred rows
a second).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matching import Command, Event, NewOrder, TopOfBookChanged, Trade
from server.journal.codec import Origin
from server.model.registry import Report

DAY_NANOS = 86_400 * 1_000_000_000

ORDER_EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sequence", "BIGINT"),
    ("event_index", "INTEGER"),
    ("transact_time", "BIGINT"),
    ("day", "DATE"),
    ("account_id", "VARCHAR"),
    ("report_sequence", "BIGINT"),
    ("exec_type", "INTEGER"),
    ("order_status", "INTEGER"),
    ("order_id", "BIGINT"),
    ("client_order_id", "VARCHAR"),
    ("symbol", "VARCHAR"),
    ("side", "INTEGER"),
    ("order_type", "INTEGER"),
    ("time_in_force", "INTEGER"),
    ("price", "BIGINT"),
    ("stop_price", "BIGINT"),
    ("quantity", "BIGINT"),
    ("leaves_quantity", "BIGINT"),
    ("cum_quantity", "BIGINT"),
    ("avg_price", "BIGINT"),
    ("last_price", "BIGINT"),
    ("last_quantity", "BIGINT"),
    ("trade_id", "BIGINT"),
    ("liquidity", "INTEGER"),
    ("reject_reason", "INTEGER"),
    ("cancel_reason", "INTEGER"),
    ("client_request_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("source", "VARCHAR"),
    ("gateway", "VARCHAR"),
)
"""Column names and DuckDB types; times are integer nanoseconds since the
epoch (UTC), ``day`` the UTC day they fall in. ``(sequence, event_index)``
numbers the events in the order the engine produced them."""

TRADE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sequence", "BIGINT"),
    ("trade_time", "BIGINT"),
    ("day", "DATE"),
    ("trade_id", "BIGINT"),
    ("symbol", "VARCHAR"),
    ("price", "BIGINT"),
    ("quantity", "BIGINT"),
    ("aggressor_side", "INTEGER"),
    ("buy_order_id", "BIGINT"),
    ("sell_order_id", "BIGINT"),
    ("buy_account_id", "VARCHAR"),
    ("sell_account_id", "VARCHAR"),
)

QUOTE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sequence", "BIGINT"),
    ("quote_time", "BIGINT"),
    ("day", "DATE"),
    ("symbol", "VARCHAR"),
    ("bid_price", "BIGINT"),
    ("bid_quantity", "BIGINT"),
    ("ask_price", "BIGINT"),
    ("ask_quantity", "BIGINT"),
)
"""One row per new-order command: the top of its symbol's book before it
(0 for a side without orders)."""

LATENCY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sequence", "BIGINT"),
    ("sequenced_time", "BIGINT"),
    ("day", "DATE"),
    ("gateway", "VARCHAR"),
    ("command", "VARCHAR"),
    ("received_time", "BIGINT"),
    ("latency_nanos", "BIGINT"),
)
"""One row per command with a gateway time: the gateway, the command's kind
(``NewOrder``, ``CancelOrder``, ...), the gateway's time and the sequencer's
minus it."""
Top = tuple[int, int, int, int]
"""A book's best bid, its visible shares, best ask, its visible shares."""
_NO_TOP: Top = (0, 0, 0, 0)

_REPORT_COLUMNS = tuple("account_id" if name == "account" else name for name in Report._fields)
"""The order-event columns a report fills, in the report's field order."""
_EXTRA_COLUMNS = ("event_index", "day", "user_id", "source", "gateway")
"""The rest of an order event's columns, after the report's in a row."""
EVENT_ROW_COLUMNS = _REPORT_COLUMNS + _EXTRA_COLUMNS
"""An order event's columns in the order ``Facts.add`` keeps a row (the
store selects them into the table's order)."""
_NO_ORIGIN = ("", "", "")
TRADE_NAMES = tuple(name for name, _ in TRADE_COLUMNS)
QUOTE_NAMES = tuple(name for name, _ in QUOTE_COLUMNS)
LATENCY_NAMES = tuple(name for name, _ in LATENCY_COLUMNS)


@dataclass
class Facts:
    """The facts of a run of consecutive commands, one tuple a row, as the
    replay adds them; the store turns each list into an Arrow table in one
    C-level conversion (``store.py``), where a Python append per field was
    a fifth of the ingest (docs/performance.md, "Analytics store")."""

    last_sequence: int = 0
    events: list[tuple[Any, ...]] = field(default_factory=list)
    """Order events, each a report's fields then its place in its command,
    its day and the sender (``EVENT_ROW_COLUMNS``)."""
    trades: list[tuple[Any, ...]] = field(default_factory=list)
    quotes: list[tuple[Any, ...]] = field(default_factory=list)
    latencies: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.events) + len(self.trades) + len(self.quotes) + len(self.latencies)

    def add(
        self,
        sequence: int,
        command: Command,
        events: list[Event],
        reports: list[Report],
        origin: Origin | None,
        tops: dict[str, Top],
    ) -> None:
        """The facts of one applied command: its reports, its trades and, for
        a new order, the top of book it arrived to. ``tops`` holds each
        symbol's top of book before the command and is moved past it."""
        self.last_sequence = sequence
        when = command.timestamp
        if type(command) is NewOrder:
            assert isinstance(command, NewOrder)
            top = tops.get(command.symbol, _NO_TOP)
            self.quotes.append((sequence, when, when // DAY_NANOS, command.symbol, *top))
        if origin is not None and origin.received:
            self.latencies.append(
                (sequence, when, when // DAY_NANOS, origin.gateway, type(command).__name__,
                 origin.received, when - origin.received)
            )  # fmt: skip
        if reports:
            self._add_reports(command, reports, origin)
        for event in events:
            kind = type(event)
            if kind is TopOfBookChanged:
                assert isinstance(event, TopOfBookChanged)
                tops[event.symbol] = event[1:]
                continue
            if kind is not Trade:
                continue
            assert isinstance(event, Trade)
            side = event.aggressor_side
            self.trades.append(
                (
                    sequence, when, when // DAY_NANOS, event.trade_id, event.symbol, event.price,
                    event.quantity, 0 if side is None else int(side), event.buy_order_id,
                    event.sell_order_id, event.buy_account, event.sell_account,
                )
            )  # fmt: skip

    def _add_reports(self, command: Command, reports: list[Report], origin: Origin | None) -> None:
        # By name: the origin also carries a traceparent, which is no fact.
        sender = _NO_ORIGIN if origin is None else (origin.user_id, origin.source, origin.gateway)
        sender_account = getattr(command, "account", "")
        append = self.events.append
        for index, report in enumerate(reports):
            extra = (
                index,
                report.transact_time // DAY_NANOS,
                *(sender if report.account == sender_account else _NO_ORIGIN),
            )
            if len(report) == _REPORT_WIDTH:
                append(report + extra)
            else:
                # Reports restored from snapshots older than client_request_id lack it.
                append((*report, "", *extra))

    def order_event_columns(self) -> dict[str, list[Any]]:
        return _transpose(self.events, EVENT_ROW_COLUMNS)

    def trade_columns(self) -> dict[str, list[Any]]:
        return _transpose(self.trades, TRADE_NAMES)

    def quote_columns(self) -> dict[str, list[Any]]:
        return _transpose(self.quotes, QUOTE_NAMES)

    def latency_columns(self) -> dict[str, list[Any]]:
        return _transpose(self.latencies, LATENCY_NAMES)


_REPORT_WIDTH = len(_REPORT_COLUMNS)


def _transpose(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> dict[str, list[Any]]:
    if not rows:
        return {name: [] for name in names}
    return {name: list(column) for name, column in zip(names, zip(*rows, strict=True), strict=True)}
