"""State hash and self-checks of the whole engine.

The hash is a digest of the engine's snapshot (``matching.snapshot``): books in
priority order with every order's fields, waiting stops, auction queues,
account order lists (they decide mass-cancel order), GTD expiries, id
sequences and time. Hashing the snapshot means the hash covers exactly what
recovery restores, so two engines with equal hashes react identically to any
command. Derived totals (level sizes, top of book) are left to
``check_invariants``.
"""

from __future__ import annotations

import json
from hashlib import blake2b
from typing import TYPE_CHECKING

from matching.book import Order, OrderBook, PriceLevel
from matching.capture import Snapshot, take_snapshot
from matching.enums import Side, TradingPhase
from matching.protection import index_fall_bps
from matching.risk_snapshot import check_risk_invariants
from matching.state_errors import InvariantError

if TYPE_CHECKING:
    from matching.engine_view import EngineView


def state_hash(engine: EngineView) -> str:
    return digest(take_snapshot(engine))


def digest(snapshot: Snapshot) -> str:
    """The state hash of an engine from a snapshot already taken of it."""
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
    return blake2b(canonical.encode(), digest_size=16).hexdigest()


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)


def check_invariants(engine: EngineView) -> None:
    """Raise ``InvariantError`` naming the first inconsistency found."""
    seen: set[int] = set()
    for symbol, book in engine.books.items():
        _check(book.symbol == symbol, f"book {book.symbol} filed under {symbol}")
        _check_book(engine, book, seen)
    _check(seen == set(engine.orders.ids()), "order index differs from the orders in books")
    for order_id in seen:
        _check(order_id <= engine.counters.order_id, f"order id {order_id} not yet issued")
    linked = 0
    for name, account in engine.accounts.items():
        previous: Order | None = None
        count = 0
        for order in account.orders():
            _check(order.account == name, f"order {order.order_id} on account list {name}")
            _check(order.account_prev is previous, f"account list of {name} broken")
            previous = order
            count += 1
        _check(count == account.count, f"account {name} count {account.count} != {count}")
        linked += count
    _check(linked == len(engine.orders), "account lists do not hold every open order")
    stop_ids = [order_id for book in engine.books.values() for order_id in book.stops.by_id]
    _check(sorted(stop_ids) == sorted(engine.stops), "stop index differs from the books' stops")
    for book in engine.books.values():
        _check(not book.top_dirty, f"{book.symbol}: top of book left unreported")
        top = (book.best_bid, _visible(book, Side.BUY), book.best_ask, _visible(book, Side.SELL))
        _check(book.top == top, f"{book.symbol}: reported top {book.top} != {top}")
        if book.resume_at:
            _check(
                (book.resume_at, book.symbol) in engine.schedule,
                f"{book.symbol}: resumption at {book.resume_at} not scheduled",
            )
    index = engine.index
    if index.parts is not None and engine.breakers_tripped < len(engine.controls.breaker_levels):
        _check(
            index.total // max(len(index.parts), 1) == index_fall_bps(engine.books.values()),
            f"market index {index.total} over {len(index.parts)} differs from the books",
        )
    check_risk_invariants(engine)


def _visible(book: OrderBook, side: Side) -> int:
    best = next(book.levels(side), None)
    return best.quantity if best is not None else 0


def _check_book(engine: EngineView, book: OrderBook, seen: set[int]) -> None:
    symbol = book.symbol
    tick = book.instrument.tick_size
    _check(book.bid_prices == sorted(book.bids), f"{symbol}: bid prices out of order")
    _check(
        [-key for key in reversed(book.ask_keys)] == sorted(book.asks),
        f"{symbol}: ask prices out of order",
    )
    _check(len(set(book.bid_prices)) == len(book.bid_prices), f"{symbol}: duplicate bid level")
    _check(len(set(book.ask_keys)) == len(book.ask_keys), f"{symbol}: duplicate ask level")
    for side in (Side.BUY, Side.SELL):
        for level in book.levels(side):
            _check(level.side is side and level.book is book, f"{symbol}: level misfiled")
            _check(level.price > 0 and level.price % tick == 0, f"{symbol}: off-tick level")
            _check(level.count > 0, f"{symbol}: empty level {level.price} kept")
            _check_queue(engine, book, level, seen)
    for queue in (book.market_buys, book.market_sells):
        _check_queue(engine, book, queue, seen)
    if book.phase in (TradingPhase.CONTINUOUS, TradingPhase.CLOSED):
        crossed = bool(book.bid_prices and book.ask_keys) and book.best_bid >= book.best_ask
        _check(not crossed, f"{symbol}: book crossed in {book.phase.name}")
        _check(
            book.market_buys.count == 0 and book.market_sells.count == 0,
            f"{symbol}: market orders queued in {book.phase.name}",
        )
    stops = book.stops
    _check(
        sorted(stop.key() for stop in stops.by_id.values() if stop.side is Side.BUY) == stops.buys,
        f"{symbol}: buy stops out of order",
    )
    _check(
        sorted(stop.key() for stop in stops.by_id.values() if stop.side is Side.SELL)
        == stops.sells,
        f"{symbol}: sell stops out of order",
    )


def _check_queue(engine: EngineView, book: OrderBook, level: PriceLevel, seen: set[int]) -> None:
    where = f"{book.symbol} {level.side.name} {level.price}"
    previous: Order | None = None
    count = quantity = 0
    for order in level.orders():
        _check(order.level is level, f"{where}: order {order.order_id} points elsewhere")
        _check(order.prev is previous, f"{where}: queue links broken at {order.order_id}")
        _check(engine.orders.get(order.order_id) is order, f"{where}: {order.order_id} unindexed")
        _check(order.order_id not in seen, f"{where}: order {order.order_id} twice")
        _check(0 < order.remaining <= order.quantity, f"{where}: {order.order_id} quantities")
        visible_ok = 0 < order.display <= order.remaining
        if not order.peak:
            visible_ok = order.display == order.remaining
        _check(visible_ok, f"{where}: {order.order_id} display {order.display}")
        seen.add(order.order_id)
        previous = order
        count += 1
        quantity += order.display
    _check(level.tail is previous, f"{where}: tail is not the last order")
    _check(level.count == count, f"{where}: count {level.count} != {count}")
    _check(level.quantity == quantity, f"{where}: quantity {level.quantity} != {quantity}")
