"""Continuous matching: an incoming order against the opposite side.

This is the hot path. It reads attributes into locals, builds events with
``tuple.__new__`` (skipping NamedTuple's Python-level ``__new__``), and reports
each touched level once, after its last fill, rather than once per fill.

Limits are compared as *keys* of the opposite side's sorted list (see
``book.py``): for a buy the ask keys are negated prices, so "ask <= limit"
becomes "key >= -limit"; for a sell the bid keys are prices. ``NO_LIMIT``
lets a market order cross every level.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from matching.book import Order, OrderBook, PriceLevel
from matching.enums import CancelReason, SelfTradePrevention, Side
from matching.events import (
    Event,
    OrderCancelled,
    OrderFilled,
    OrderReduced,
    Trade,
)

NO_LIMIT: Final = -(1 << 63)
_new: Final = tuple.__new__
_BUY: Final = Side.BUY
_NONE: Final = SelfTradePrevention.NONE
_STP: Final = CancelReason.SELF_TRADE_PREVENTION
# Classes on the hot paths bound Final: compiled, a module-level name is a dict
# lookup at every use, a Final one a C static (docs/performance.md).
_TRADE: Final = Trade
_ORDER_FILLED: Final = OrderFilled


def match(book: OrderBook, order: Order, side: Side, key: int, out: list[Event]) -> None:
    """Trade ``order`` against the opposite side while prices cross.

    Leaves the unfilled quantity in ``order.remaining`` (0 if self-trade
    prevention cancelled it); the caller rests or cancels it.
    """
    emit = out.append
    symbol = book.symbol
    counters = book.counters
    if side is _BUY:
        levels = book.asks
        keys = book.ask_keys
        sign = -1
    else:
        levels = book.bids
        keys = book.bid_prices
        sign = 1
    order_id = order.order_id
    account = order.account
    check_self_trade = order.self_trade_prevention is not _NONE
    remaining = order.remaining
    price = printed = 0
    while remaining and keys and keys[-1] >= key:
        level = levels[sign * keys[-1]]
        price = level.price
        resting = level.head
        while resting is not None:
            if check_self_trade and resting.account == account:
                order.remaining = remaining
                _prevent_self_trade(book, order, resting, out)
                remaining = order.remaining
                if not remaining:
                    break
                resting = level.head
                continue
            available = resting.display
            quantity = remaining if remaining < available else available
            trade_id = counters.trade_id + 1
            counters.trade_id = trade_id
            printed = price
            remaining -= quantity
            resting_left = resting.remaining - quantity
            resting.remaining = resting_left
            display = available - quantity
            resting.display = display
            level.quantity -= quantity
            resting_id = resting.order_id
            resting_account = resting.account
            if side is _BUY:
                emit(
                    _new(
                        _TRADE,
                        (
                            symbol,
                            trade_id,
                            price,
                            quantity,
                            side,
                            order_id,
                            resting_id,
                            account,
                            resting_account,
                        ),
                    )
                )
            else:
                emit(
                    _new(
                        _TRADE,
                        (
                            symbol,
                            trade_id,
                            price,
                            quantity,
                            side,
                            resting_id,
                            order_id,
                            resting_account,
                            account,
                        ),
                    )
                )
            emit(
                _new(
                    _ORDER_FILLED,
                    (
                        symbol,
                        resting_id,
                        resting_account,
                        trade_id,
                        price,
                        quantity,
                        resting_left,
                        resting.quantity - resting_left,
                    ),
                )
            )
            emit(
                _new(
                    _ORDER_FILLED,
                    (
                        symbol,
                        order_id,
                        account,
                        trade_id,
                        price,
                        quantity,
                        remaining,
                        order.quantity - remaining,
                    ),
                )
            )
            if not display:
                if resting_left:
                    _refill(book, level, resting, resting_left)
                else:
                    book.detach(resting)
            if not remaining:
                break
            resting = level.head
        book.level_changed(level, out)
    order.remaining = remaining
    peak = order.peak
    order.display = peak if 0 < peak < remaining else remaining
    # Only a trade sets the price: a level visited for nothing but self-trade
    # prevention did not print.
    if printed:
        book.last_trade_price = printed


def _refill(book: OrderBook, level: PriceLevel, order: Order, remaining: int) -> None:
    """Show the next slice of an iceberg, at the back of the queue."""
    peak = order.peak
    display = peak if peak < remaining else remaining
    order.display = display
    level.quantity += display
    book.move_to_back(order)


def _prevent_self_trade(book: OrderBook, order: Order, resting: Order, out: list[Event]) -> None:
    symbol = book.symbol
    mode = order.self_trade_prevention
    if mode is SelfTradePrevention.DECREMENT:
        quantity = min(order.remaining, resting.remaining)
        _decrement_resting(book, resting, quantity, out)
        order.remaining -= quantity
        order.quantity -= quantity
        if order.remaining:
            out.append(
                OrderReduced(symbol, order.order_id, order.account, quantity, order.remaining, _STP)
            )
        else:
            out.append(OrderCancelled(symbol, order.order_id, order.account, quantity, _STP))
        return
    if mode is not SelfTradePrevention.CANCEL_INCOMING:
        book.detach(resting)
        out.append(
            OrderCancelled(symbol, resting.order_id, resting.account, resting.remaining, _STP)
        )
    if mode is not SelfTradePrevention.CANCEL_RESTING:
        out.append(OrderCancelled(symbol, order.order_id, order.account, order.remaining, _STP))
        order.remaining = 0


def _decrement_resting(book: OrderBook, resting: Order, quantity: int, out: list[Event]) -> None:
    symbol = book.symbol
    left = resting.remaining - quantity
    if not left:
        book.detach(resting)
        out.append(OrderCancelled(symbol, resting.order_id, resting.account, quantity, _STP))
        return
    level = resting.level
    resting.remaining = left
    resting.quantity -= quantity
    if resting.display > left:
        level.quantity -= resting.display - left
        resting.display = left
    out.append(OrderReduced(symbol, resting.order_id, resting.account, quantity, left, _STP))


def fillable(book: OrderBook, order: Order, side: Side, key: int) -> bool:
    """Whether ``order`` would fill completely, by trades alone (FOK).

    Walks each level's queue as matching would, iceberg refills going to the
    back: an own order that self-trade prevention would not simply cancel
    blocks the fill, even when it sits behind an iceberg's next slice.
    """
    need = order.remaining
    account = order.account
    mode = order.self_trade_prevention
    for level in book.levels(Side.SELL if side is _BUY else _BUY):
        if limit_key_of(level) < key:
            break
        queue = deque(
            (resting.account, resting.remaining, resting.display, resting.peak)
            for resting in level.orders()
        )
        while queue:
            owner, remaining, display, peak = queue.popleft()
            if mode is not _NONE and owner == account:
                if mode is SelfTradePrevention.CANCEL_RESTING:
                    continue
                return False
            if need <= display:
                return True
            need -= display
            remaining -= display
            if remaining:
                queue.append((owner, remaining, min(peak, remaining), peak))
    return False


def limit_key_of(level: PriceLevel) -> int:
    """``level``'s key in its side's sorted list."""
    return -level.price if level.side is not _BUY else level.price
