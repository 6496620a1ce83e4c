"""Engine snapshots: the whole state as plain data, and back.

A snapshot holds only ints, strings, bools, None, lists and dicts, so the
server can encode it any way it likes (JSON today). Taking one is in
``capture.py`` (the engine's state hash needs it, so it must not import the
engine); restoring, here, builds an engine. Restoring rebuilds every
queue in priority order and every account list in its order, so the restored
engine has the same ``state_hash`` and reacts to every command exactly as the
original would: recovery is the newest snapshot plus a replay of the journal
after it.
"""

from __future__ import annotations

from heapq import heapify
from typing import Any, Final

from matching.book import AccountOrders, Order
from matching.capture import FORMAT_VERSION, Snapshot, take_snapshot
from matching.commands import ConfigureControls
from matching.engine import Engine
from matching.enums import OrderType, SelfTradePrevention, Side, TimeInForce, TradingPhase
from matching.instrument import Instrument
from matching.risk_snapshot import rebuild_open_orders, restore_risk
from matching.stops import PendingStop

_UNBOOKED: Final = 0
"""A restored order's reserve until the ledger's part of the snapshot (or,
for a snapshot from before the ledger, ``rebuild_open_orders``) sets it."""

__all__ = ["FORMAT_VERSION", "Snapshot", "restore_snapshot", "take_snapshot"]
"""Taking a snapshot lives in ``capture.py``; both halves are offered here."""


def restore_snapshot(snapshot: Snapshot) -> Engine:
    """Rebuild the engine ``snapshot`` was taken of."""
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
