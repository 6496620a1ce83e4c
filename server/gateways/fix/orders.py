"""FIX order messages onto the engine's commands (FIX 4.2 and 4.4 alike).

Prices are decimal strings turned into the exchange's fixed point (4 implied
decimal places) without floating point: a digit beyond the fourth place that
is not zero is refused, never rounded. Quantities are whole shares. What the
engine judges (ticks, lots, bands, phases, risk) is left to the engine; this
module refuses only what a command cannot express, as a `Refusal` value.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from matching import (
    CancelOrder,
    CancelReason,
    MassCancel,
    NewOrder,
    OrderType,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from server.gateways.fix.admin import parse_timestamp
from server.gateways.fix.message import Message

PRICE_PLACES = 4
_DECIMAL = re.compile(r"(-?)(\d+)(?:\.(\d+))?")

# Body tags of the order messages.
ACCOUNT = 1
CL_ORD_ID = 11
EXEC_INST = 18
ORDER_QTY = 38
ORD_TYPE = 40
ORIG_CL_ORD_ID = 41
PRICE = 44
SIDE = 54
SYMBOL = 55
TIME_IN_FORCE = 59
STOP_PX = 99
MAX_FLOOR = 111
EXPIRE_TIME = 126
MASS_CANCEL_REQUEST_TYPE = 530
# Self-trade prevention, a tag of ours (docs/fix.md): 1 none, 2 cancel resting,
# 3 cancel incoming, 4 cancel both, 5 decrement (the contract's numbers).
SELF_TRADE_PREVENTION = 20001

# OrdRejReason (103) values used for refusals made here.
REJECT_OTHER = 99
REJECT_UNKNOWN_SYMBOL = 1

_SIDES = {"1": Side.BUY, "2": Side.SELL}
_ORDER_TYPES = {
    "1": OrderType.MARKET,
    "2": OrderType.LIMIT,
    "3": OrderType.STOP,
    "4": OrderType.STOP_LIMIT,
}
_TIME_IN_FORCE = {
    "0": TimeInForce.DAY,
    "1": TimeInForce.GTC,
    "3": TimeInForce.IOC,
    "4": TimeInForce.FOK,
    "6": TimeInForce.GTD,
}
# ExecInst "6": participate, don't initiate (post-only).
_POST_ONLY = "6"


class Refusal(NamedTuple):
    """Why a message cannot become a command: a text and an OrdRejReason."""

    text: str
    reason: int = REJECT_OTHER


def fixed_price(text: str) -> int | None:
    """A FIX price in units of 0.0001; None if not a decimal or finer than that."""
    match = _DECIMAL.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction = match[1], match[2], match[3] or ""
    if len(fraction) > PRICE_PLACES and fraction[PRICE_PLACES:].strip("0"):
        return None
    scale: int = 10**PRICE_PLACES
    units = int(whole) * scale + int(fraction[:PRICE_PLACES].ljust(PRICE_PLACES, "0"))
    return -units if sign else units


def format_price(units: int) -> str:
    """Fixed point back to a FIX decimal string ("123.45", "0", "-1.5")."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**PRICE_PLACES)
    text = f"{fraction:0{PRICE_PLACES}d}".rstrip("0")
    return f"{sign}{whole}.{text}" if text else f"{sign}{whole}"


def whole_quantity(text: str | None) -> int | None:
    """Whole shares from a FIX Qty ("100", "100.0"); None otherwise."""
    if text is None:
        return None
    match = _DECIMAL.fullmatch(text)
    if match is None or match[1] or (match[3] or "").strip("0"):
        return None
    return int(match[2])


def _price(message: Message, tag: int, name: str) -> int | Refusal:
    text = message.value(tag)
    if text is None:
        return 0
    units = fixed_price(text)
    if units is None:
        return Refusal(f"{name} {text} is not a price with at most {PRICE_PLACES} decimals")
    return units


def new_order(message: Message, account: str, timestamp: int) -> NewOrder | Refusal:
    """A NewOrderSingle (D) as a NewOrder command."""
    side = _SIDES.get(message.value(SIDE) or "")
    if side is None:
        return Refusal(f"Side {message.value(SIDE)} is not supported (1 buy, 2 sell)")
    order_type = _ORDER_TYPES.get(message.value(ORD_TYPE) or "")
    if order_type is None:
        return Refusal(f"OrdType {message.value(ORD_TYPE)} is not supported (1, 2, 3, 4)")
    time_in_force = _TIME_IN_FORCE.get(message.value(TIME_IN_FORCE) or "0")
    if time_in_force is None:
        return Refusal(f"TimeInForce {message.value(TIME_IN_FORCE)} is not supported")
    quantity = whole_quantity(message.value(ORDER_QTY))
    if quantity is None:
        return Refusal("OrderQty must be a whole number of shares")
    display = whole_quantity(message.value(MAX_FLOOR) or "0")
    if display is None:
        return Refusal("MaxFloor must be a whole number of shares")
    symbol = message.value(SYMBOL)
    if not symbol:
        return Refusal("Symbol is required", REJECT_UNKNOWN_SYMBOL)
    price = _price(message, PRICE, "Price")
    stop = _price(message, STOP_PX, "StopPx")
    if isinstance(price, Refusal):
        return price
    if isinstance(stop, Refusal):
        return stop
    expire = 0
    if time_in_force is TimeInForce.GTD:
        moment = parse_timestamp(message.value(EXPIRE_TIME) or "")
        if moment is None:
            return Refusal("TimeInForce GTD needs ExpireTime")
        expire = round(moment * 1_000_000_000)
    prevention = SelfTradePrevention.NONE
    stp_text = message.value(SELF_TRADE_PREVENTION)
    if stp_text is not None:
        members = {str(m.value): m for m in SelfTradePrevention}
        if stp_text not in members:
            return Refusal(f"self-trade prevention {stp_text} is not one of 1-5")
        prevention = members[stp_text]
    post_only = _POST_ONLY in (message.value(EXEC_INST) or "").split()
    return NewOrder(
        timestamp, account, symbol, side, order_type, quantity, price, time_in_force,
        stop, display, post_only, prevention, expire,
    )  # fmt: skip


def cancel(account: str, order_id: int, timestamp: int) -> CancelOrder:
    return CancelOrder(timestamp, account, order_id)


def replace(
    message: Message, account: str, order_id: int, timestamp: int
) -> ReplaceOrder | Refusal:
    """An OrderCancelReplaceRequest (G): new price, stop price and total quantity."""
    quantity = whole_quantity(message.value(ORDER_QTY))
    if quantity is None:
        return Refusal("OrderQty must be a whole number of shares")
    price = _price(message, PRICE, "Price")
    stop = _price(message, STOP_PX, "StopPx")
    if isinstance(price, Refusal):
        return price
    if isinstance(stop, Refusal):
        return stop
    return ReplaceOrder(timestamp, account, order_id, price, quantity, stop)


def mass_cancel(message: Message, account: str, timestamp: int) -> MassCancel | Refusal:
    """An OrderMassCancelRequest (q): 1 by symbol, 7 all orders of the account."""
    kind = message.value(MASS_CANCEL_REQUEST_TYPE)
    if kind == "7":
        return MassCancel(timestamp, account, "", CancelReason.MASS_CANCEL)
    if kind == "1" and message.value(SYMBOL):
        return MassCancel(timestamp, account, message.value(SYMBOL) or "", CancelReason.MASS_CANCEL)
    return Refusal("MassCancelRequestType must be 1 (with Symbol) or 7")
