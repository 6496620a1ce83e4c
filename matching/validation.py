"""Static checks of a new order against its instrument.

Phase rules and checks that need the book (post-only, stop triggers) live
with the engine; everything here depends only on the order, the instrument,
the reference price and the command's time.
"""

from matching.commands import NewOrder
from matching.enums import OrderType, RejectReason, SelfTradePrevention, Side, TimeInForce
from matching.instrument import BASIS_POINTS, Instrument

_IMMEDIATE = frozenset((TimeInForce.IOC, TimeInForce.FOK))
_MARKET_TIFS = frozenset((TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK))
_PRICED = frozenset((OrderType.LIMIT, OrderType.STOP_LIMIT))
_STOPS = frozenset((OrderType.STOP, OrderType.STOP_LIMIT))


def check_quantity(instrument: Instrument, quantity: int) -> RejectReason | None:
    if quantity <= 0:
        return RejectReason.INVALID_QUANTITY
    if quantity % instrument.lot_size:
        return RejectReason.QUANTITY_NOT_MULTIPLE_OF_LOT
    if quantity > instrument.max_order_quantity:
        return RejectReason.QUANTITY_TOO_LARGE
    return None


def check_limit_price(instrument: Instrument, price: int, reference: int) -> RejectReason | None:
    if price <= 0:
        return RejectReason.INVALID_PRICE
    if price % instrument.tick_size:
        return RejectReason.PRICE_NOT_ON_TICK
    band = instrument.price_band_bps
    if band and reference and abs(price - reference) * BASIS_POINTS > reference * band:
        return RejectReason.PRICE_OUTSIDE_BAND
    return None


def check_new_order(instrument: Instrument, order: NewOrder, reference: int) -> RejectReason | None:
    """The first rule ``order`` breaks, or None."""
    # Enum members, not bare ints: the matching loop compares by identity.
    if type(order.side) is not Side:
        return RejectReason.INVALID_SIDE
    if type(order.order_type) is not OrderType:
        return RejectReason.INVALID_ORDER_TYPE
    if type(order.self_trade_prevention) is not SelfTradePrevention:
        return RejectReason.INVALID_SELF_TRADE_PREVENTION
    order_type = order.order_type
    reason = check_quantity(instrument, order.quantity)
    if reason is not None:
        return reason
    if order_type in _PRICED:
        reason = check_limit_price(instrument, order.price, reference)
        if reason is not None:
            return reason
    elif order.price:
        return RejectReason.INVALID_PRICE
    if order_type in _STOPS:
        stop = order.stop_price
        if stop <= 0 or stop % instrument.tick_size:
            return RejectReason.INVALID_STOP_PRICE
    elif order.stop_price:
        return RejectReason.INVALID_STOP_PRICE
    display = order.display_quantity
    if display and (
        order_type is not OrderType.LIMIT
        or display < 0
        or display > order.quantity
        or display % instrument.lot_size
    ):
        return RejectReason.INVALID_DISPLAY_QUANTITY
    if order.post_only and order_type is not OrderType.LIMIT:
        return RejectReason.INVALID_ORDER_TYPE
    return _check_time_in_force(order)


def _check_time_in_force(order: NewOrder) -> RejectReason | None:
    tif = order.time_in_force
    if type(tif) is not TimeInForce:
        return RejectReason.INVALID_TIME_IN_FORCE
    if order.order_type is OrderType.MARKET and tif not in _MARKET_TIFS:
        return RejectReason.INVALID_TIME_IN_FORCE
    if order.post_only and tif in _IMMEDIATE:
        return RejectReason.INVALID_TIME_IN_FORCE
    if tif is TimeInForce.GTD:
        if order.expire_time <= order.timestamp:
            return RejectReason.INVALID_EXPIRE_TIME
    elif order.expire_time:
        return RejectReason.INVALID_EXPIRE_TIME
    return None
