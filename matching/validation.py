"""Static checks of a new order against its instrument.

Phase rules and checks that need the book (post-only, stop triggers) live
with the engine; everything here depends only on the order, the instrument,
the reference price and the command's time.

This runs for every order, so it compares enum members by identity: an
``in`` test against a set of enum members would call ``Enum.__hash__``, a
Python function, for each lookup.
"""

from typing import Final

from matching.commands import NewOrder
from matching.enums import OrderType, RejectReason, SelfTradePrevention, Side, TimeInForce
from matching.instrument import BASIS_POINTS, Instrument

_LIMIT: Final = OrderType.LIMIT
_MARKET: Final = OrderType.MARKET
_STOP: Final = OrderType.STOP
_STOP_LIMIT: Final = OrderType.STOP_LIMIT
_DAY: Final = TimeInForce.DAY
_IOC: Final = TimeInForce.IOC
_FOK: Final = TimeInForce.FOK
_GTD: Final = TimeInForce.GTD

# Where the enum fields sit in a ``NewOrder``: they are read by position, as
# plain objects, before anything trusts their type (see ``check_new_order``).
_SIDE: Final = NewOrder._fields.index("side")
_ORDER_TYPE: Final = NewOrder._fields.index("order_type")
_TIME_IN_FORCE: Final = NewOrder._fields.index("time_in_force")
_SELF_TRADE_PREVENTION: Final = NewOrder._fields.index("self_trade_prevention")


def check_quantity(instrument: Instrument, quantity: int) -> RejectReason | None:
    if quantity <= 0:
        return RejectReason.INVALID_QUANTITY
    if quantity % instrument.lot_size:
        return RejectReason.QUANTITY_NOT_MULTIPLE_OF_LOT
    if quantity > instrument.max_order_quantity:
        return RejectReason.QUANTITY_TOO_LARGE
    return None


def check_limit_price(
    instrument: Instrument, price: int, last_trade_price: int
) -> RejectReason | None:
    """Positive, on the tick grid, and inside the band around the reference
    price: the last trade, else the instrument's previous close."""
    if price <= 0:
        return RejectReason.INVALID_PRICE
    if price % instrument.tick_size:
        return RejectReason.PRICE_NOT_ON_TICK
    band = instrument.price_band_bps
    reference = last_trade_price or instrument.reference_price
    if band and reference and abs(price - reference) * BASIS_POINTS > reference * band:
        return RejectReason.PRICE_OUTSIDE_BAND
    return None


def check_new_order(
    instrument: Instrument, order: NewOrder, last_trade_price: int
) -> RejectReason | None:
    """The first rule ``order`` breaks, or None."""
    # Enum members, not bare ints: the matching loop compares by identity.
    # Read untyped: compiled with mypyc, ``order.side`` checks its value
    # against ``Side`` and raises TypeError for an int, where the order must
    # be refused with its reason instead.
    fields: tuple[object, ...] = order
    if type(fields[_SIDE]) is not Side:
        return RejectReason.INVALID_SIDE
    if type(fields[_ORDER_TYPE]) is not OrderType:
        return RejectReason.INVALID_ORDER_TYPE
    if type(fields[_SELF_TRADE_PREVENTION]) is not SelfTradePrevention:
        return RejectReason.INVALID_SELF_TRADE_PREVENTION
    order_type = order.order_type
    quantity = order.quantity
    if quantity <= 0 or quantity % instrument.lot_size or quantity > instrument.max_order_quantity:
        return check_quantity(instrument, quantity)
    price = order.price
    if order_type is _LIMIT or order_type is _STOP_LIMIT:
        # The common case (on tick, no band) costs no call; otherwise the
        # full check names the rule.
        if price <= 0 or price % instrument.tick_size or instrument.price_band_bps:
            reason = check_limit_price(instrument, price, last_trade_price)
            if reason is not None:
                return reason
    elif price:
        return RejectReason.INVALID_PRICE
    if order_type is _STOP or order_type is _STOP_LIMIT:
        stop = order.stop_price
        if stop <= 0 or stop % instrument.tick_size:
            return RejectReason.INVALID_STOP_PRICE
    elif order.stop_price:
        return RejectReason.INVALID_STOP_PRICE
    display = order.display_quantity
    if display and (
        order_type is not _LIMIT
        or display < 0
        or display > order.quantity
        or display % instrument.lot_size
    ):
        return RejectReason.INVALID_DISPLAY_QUANTITY
    post_only = order.post_only
    if post_only and order_type is not _LIMIT:
        return RejectReason.INVALID_ORDER_TYPE
    if type(fields[_TIME_IN_FORCE]) is not TimeInForce:
        return RejectReason.INVALID_TIME_IN_FORCE
    tif = order.time_in_force
    immediate = tif is _IOC or tif is _FOK
    if order_type is _MARKET and not (immediate or tif is _DAY):
        return RejectReason.INVALID_TIME_IN_FORCE
    if post_only and immediate:
        return RejectReason.INVALID_TIME_IN_FORCE
    if tif is _GTD:
        if order.expire_time <= order.timestamp:
            return RejectReason.INVALID_EXPIRE_TIME
    elif order.expire_time:
        return RejectReason.INVALID_EXPIRE_TIME
    return None
