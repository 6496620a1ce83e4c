"""Cancel/replace of live orders.

Quantity is the new total (FIX OrderQty), so what has been filled counts
towards it. A smaller quantity at the same price keeps time priority; any
other change goes to the back of the queue at the new price, and in
continuous trading a new price that crosses trades at once, as an aggressor.
"""

from __future__ import annotations

from typing import Final

from matching.book import Order, OrderBook
from matching.commands import ReplaceOrder
from matching.enums import OrderType, RejectReason, Side, TradingPhase
from matching.events import CancelRejected, Event, OrderReplaced
from matching.matcher import match
from matching.protection import band_key, outside_band
from matching.stops import PendingStop
from matching.validation import check_limit_price, check_quantity

_CONTINUOUS: Final = TradingPhase.CONTINUOUS
_BUY: Final = Side.BUY
_new: Final = tuple.__new__


def _phase_rule(book: OrderBook) -> RejectReason | None:
    if book.phase is _CONTINUOUS:
        return None
    if book.phase is TradingPhase.CLOSED:
        return RejectReason.MARKET_CLOSED
    if book.phase is TradingPhase.HALTED:
        return RejectReason.TRADING_HALTED
    return None


def replace(book: OrderBook, order: Order, command: ReplaceOrder, out: list[Event]) -> bool:
    """Apply ``command`` to a live order; True if it traded."""
    level = order.level
    reason = _check_replace(book, order, command)
    side = level.side
    price = command.price
    quantity = command.quantity
    continuous = book.phase is _CONTINUOUS
    keeps_priority = price == level.price and quantity <= order.quantity
    if side is _BUY:
        keys = book.ask_keys
        key = -price
    else:
        keys = book.bid_prices
        key = price
    crossing = bool(keys) and keys[-1] >= key
    if reason is None and crossing and order.post_only and continuous and not keeps_priority:
        reason = RejectReason.POST_ONLY_WOULD_TRADE
    if reason is not None:
        out.append(CancelRejected(order.order_id, order.account, reason))
        return False

    remaining = quantity - (order.quantity - order.remaining)
    out.append(
        _new(
            OrderReplaced,
            (
                book.symbol,
                order.order_id,
                order.account,
                price,
                quantity,
                remaining,
                0,
                keeps_priority,
            ),
        )
    )
    if keeps_priority:
        order.quantity = command.quantity
        order.remaining = remaining
        if order.display > remaining:
            level.quantity -= order.display - remaining
            order.display = remaining
            book.level_changed(level, out)
        return False

    book.remove(order, out)
    order.quantity = command.quantity
    order.remaining = remaining
    order.display = min(order.peak, remaining) if order.peak else remaining
    traded = False
    if continuous and crossing:
        blocked = False
        if book.band_high:
            # Beyond the band the order rests crossed; the engine then pauses.
            key = band_key(book, side, key)
            blocked = outside_band(book, keys)
        before = book.counters.trade_id
        if keys and keys[-1] >= key and not blocked:
            match(book, order, side, key, out)
        traded = book.counters.trade_id != before
    if order.remaining:
        book.rest(order, side, command.price, out)
    return traded


def _check_replace(book: OrderBook, order: Order, command: ReplaceOrder) -> RejectReason | None:
    reason = _phase_rule(book)
    if reason is None and not order.level.price:
        reason = RejectReason.ORDER_NOT_REPLACEABLE
    if reason is None:
        reason = check_quantity(book.instrument, command.quantity)
    if reason is None:
        reason = check_limit_price(book.instrument, command.price, book.last_trade_price)
    if reason is None and command.stop_price:
        reason = RejectReason.INVALID_STOP_PRICE
    if reason is None and command.quantity <= order.quantity - order.remaining:
        reason = RejectReason.REPLACE_QUANTITY_TOO_LOW
    return reason


def replace_stop(
    book: OrderBook, stop: PendingStop, command: ReplaceOrder, out: list[Event]
) -> None:
    """Change a waiting stop's quantity, limit price or trigger price."""
    reason = _check_stop_replace(book, stop, command)
    if reason is not None:
        out.append(CancelRejected(stop.order_id, stop.account, reason))
        return
    book.stops.remove(stop)
    stop.price = command.price
    stop.quantity = command.quantity
    if command.stop_price:
        stop.stop_price = command.stop_price
    book.stops.add(stop)
    out.append(
        OrderReplaced(
            book.symbol,
            stop.order_id,
            stop.account,
            stop.price,
            stop.quantity,
            stop.quantity,
            stop.stop_price,
            False,
        )
    )


def _check_stop_replace(
    book: OrderBook, stop: PendingStop, command: ReplaceOrder
) -> RejectReason | None:
    reason = _phase_rule(book) or check_quantity(book.instrument, command.quantity)
    if reason is not None:
        return reason
    if stop.order_type is OrderType.STOP_LIMIT:
        reason = check_limit_price(book.instrument, command.price, book.last_trade_price)
        if reason is not None:
            return reason
    elif command.price:
        return RejectReason.INVALID_PRICE
    stop_price = command.stop_price or stop.stop_price
    if stop_price <= 0 or stop_price % book.instrument.tick_size:
        return RejectReason.INVALID_STOP_PRICE
    if book.stops.would_trigger(stop.side, stop_price, book.last_trade_price):
        return RejectReason.INVALID_STOP_PRICE
    return None
