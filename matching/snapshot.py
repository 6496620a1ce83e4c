"""Engine snapshots: the whole state as plain data, and back.

A snapshot holds only ints, strings, bools, None, lists and dicts, so the
server can encode it any way it likes (JSON today). Restoring rebuilds every
queue in priority order and every account list in its order, so the restored
engine has the same ``state_hash`` and reacts to every command exactly as the
original would: recovery is the newest snapshot plus a replay of the journal
after it.
"""

from __future__ import annotations

from dataclasses import asdict
from heapq import heapify
from typing import TYPE_CHECKING, Any

from matching.book import AccountOrders, Order, OrderBook, PriceLevel
from matching.commands import ConfigureControls
from matching.enums import OrderType, SelfTradePrevention, Side, TimeInForce, TradingPhase
from matching.instrument import Instrument
from matching.risk_snapshot import rebuild_open_orders, restore_risk, risk_snapshot
from matching.stops import PendingStop

if TYPE_CHECKING:
    from matching.engine import Engine

FORMAT_VERSION = 4
_UNBOOKED = 0
"""A restored order's reserve until the ledger's part of the snapshot (or,
for a snapshot from before the ledger, ``rebuild_open_orders``) sets it."""
"""2 added accounts (cash, positions, limits, kill switches), market controls
and protection state; 3 the time each account last changed; 4 market order
protection. A version 1 snapshot restores with empty accounts whose open
orders are rebuilt from the books; a version 2 one with no change times; up
to version 3 with the default market order protection."""

Snapshot = dict[str, Any]


def take_snapshot(engine: Engine) -> Snapshot:
    open_ids = engine.orders.keys() | engine.stops.keys()
    controls = engine.controls
    return {
        "format": FORMAT_VERSION,
        "now": engine.now,
        "last_order_id": engine.counters.order_id,
        "last_trade_id": engine.counters.trade_id,
        "books": [_book(book) for book in engine.books.values()],
        "accounts": {
            name: [order.order_id for order in account.orders()]
            for name, account in engine.accounts.items()
            if account.count
        },
        "expiries": sorted(
            [expire_time, order_id]
            for expire_time, order_id in engine.expiries
            if order_id in open_ids
        ),
        "risk": risk_snapshot(engine.risk),
        "controls": [
            controls.enforce_limits,
            controls.pause_ns,
            controls.reopen_call_ns,
            [list(level) for level in controls.breaker_levels],
            controls.market_protection_bps,
        ],
        "breakers_tripped": engine.breakers_tripped,
        "schedule": sorted(
            [at, symbol] for at, symbol in engine.schedule if engine.books[symbol].resume_at == at
        ),
    }


def _book(book: OrderBook) -> dict[str, Any]:
    return {
        "instrument": asdict(book.instrument),
        "phase": int(book.phase),
        "last_trade_price": book.last_trade_price,
        "protection": [
            book.previous_close,
            book.band_reference,
            book.resume_at,
            int(book.resume_phase),
        ],
        "market_orders": [_queue(book.market_buys), _queue(book.market_sells)],
        "bids": [[level.price, _queue(level)] for level in book.levels(Side.BUY)],
        "asks": [[level.price, _queue(level)] for level in book.levels(Side.SELL)],
        "stops": [
            [
                stop.order_id,
                stop.account,
                int(stop.side),
                int(stop.order_type),
                stop.stop_price,
                stop.price,
                stop.quantity,
                int(stop.time_in_force),
                int(stop.self_trade_prevention),
            ]
            for stop in sorted(book.stops.by_id.values(), key=lambda stop: stop.order_id)
        ],
    }


def _queue(level: PriceLevel) -> list[list[Any]]:
    return [
        [
            order.order_id,
            order.account,
            order.quantity,
            order.remaining,
            order.display,
            order.peak,
            int(order.time_in_force),
            int(order.self_trade_prevention),
            order.post_only,
        ]
        for order in level.orders()
    ]


def restore_snapshot(snapshot: Snapshot) -> Engine:
    """Rebuild the engine ``snapshot`` was taken of."""
    # Imported here: the engine imports this module (through its state hash).
    from matching.engine import Engine  # noqa: PLC0415

    version = snapshot.get("format")
    if version not in (1, 2, 3, FORMAT_VERSION):
        raise ValueError(f"unsupported snapshot format {version!r}")
    engine = Engine()
    engine.now = snapshot["now"]
    engine.counters.order_id = snapshot["last_order_id"]
    engine.counters.trade_id = snapshot["last_trade_id"]
    scratch: list[Any] = []
    for data in snapshot["books"]:
        instrument = Instrument(**data["instrument"])
        engine.create_book(instrument, TradingPhase(data["phase"]))
        book = engine.books[instrument.symbol]
        book.last_trade_price = data["last_trade_price"]
        if "protection" in data:
            previous_close, band_reference, resume_at, resume_phase = data["protection"]
            book.previous_close = previous_close
            book.set_band_reference(band_reference)
            book.resume_at = resume_at
            book.resume_phase = TradingPhase(resume_phase)
        for side, queue in zip((Side.BUY, Side.SELL), data["market_orders"], strict=True):
            for fields in queue:
                book.rest_market(_order(fields), side)
        for side, key in ((Side.BUY, "bids"), (Side.SELL, "asks")):
            for price, queue in data[key]:
                for fields in queue:
                    book.rest(_order(fields), side, price, scratch)
        for fields in data["stops"]:
            stop = PendingStop(
                fields[0],
                instrument.symbol,
                fields[1],
                Side(fields[2]),
                OrderType(fields[3]),
                fields[4],
                fields[5],
                fields[6],
                TimeInForce(fields[7]),
                SelfTradePrevention(fields[8]),
                _UNBOOKED,
            )
            book.stops.add(stop)
            engine.stops[stop.order_id] = stop
        book.top_dirty = False
        book.emit_top_of_book(scratch)
    _relink_accounts(engine, snapshot["accounts"])
    engine.expiries = [(expire_time, order_id) for expire_time, order_id in snapshot["expiries"]]
    heapify(engine.expiries)
    if version == 1:
        rebuild_open_orders(engine)
        return engine
    restore_risk(engine.risk, snapshot["risk"])
    enforce, pause, reopen, levels, *protection = snapshot["controls"]
    engine.controls = ConfigureControls(
        0,
        enforce,
        pause,
        reopen,
        tuple((fall, halt) for fall, halt in levels),
        *protection,
    )
    engine.risk.protection_bps = engine.controls.market_protection_bps
    engine.breakers_tripped = snapshot["breakers_tripped"]
    engine.schedule = [(at, symbol) for at, symbol in snapshot["schedule"]]
    heapify(engine.schedule)
    return engine


def _order(fields: list[Any]) -> Order:
    order = Order(
        fields[0],
        fields[1],
        fields[2],
        fields[5],
        TimeInForce(fields[6]),
        SelfTradePrevention(fields[7]),
        fields[8],
        _UNBOOKED,
    )
    order.remaining = fields[3]
    order.display = fields[4]
    return order


def _relink_accounts(engine: Engine, accounts: dict[str, list[int]]) -> None:
    """Resting put each account's orders in book order; restore list order."""
    for name, order_ids in accounts.items():
        account = engine.accounts.setdefault(name, AccountOrders(name))
        previous: Order | None = None
        account.head = None
        for order_id in order_ids:
            order = engine.orders[order_id]
            order.account_prev = previous
            order.account_next = None
            if previous is None:
                account.head = order
            else:
                previous.account_next = order
            previous = order
        account.count = len(order_ids)
