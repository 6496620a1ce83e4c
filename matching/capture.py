"""Taking an engine's snapshot: the whole state as plain data.

A snapshot holds only ints, strings, bools, None, lists and dicts, so the
server can encode it any way it likes (JSON today); ``state.py`` hashes it and
``snapshot.py`` restores an engine from it. This half reads the engine only
through ``EngineView``, so the engine (whose ``state_hash`` needs it) can
import it without a cycle.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Final

from matching.enums import Side
from matching.risk_snapshot import risk_snapshot

if TYPE_CHECKING:
    from matching.book import OrderBook, PriceLevel
    from matching.engine_view import EngineView

FORMAT_VERSION: Final = 4
"""2 added accounts (cash, positions, limits, kill switches), market controls
and protection state; 3 the time each account last changed; 4 market order
protection. A version 1 snapshot restores with empty accounts whose open
orders are rebuilt from the books; a version 2 one with no change times; up
to version 3 with the default market order protection."""

Snapshot = dict[str, Any]


def take_snapshot(engine: EngineView) -> Snapshot:
    open_ids = set(engine.orders.ids()) | engine.stops.keys()
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
