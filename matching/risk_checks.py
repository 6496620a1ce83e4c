"""The pre-trade limits of one order message, new order or replace.

One function for both, so a replace is held to exactly the rules of a new
order: a replace is a new order's size and price with a change of open
quantity (``added``) and of reserved cash (``extra_cash``). It runs for
every order the engine admits while limits are enforced, hence one call
with the limits unpacked once; texts are built only for a refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matching.enums import RejectReason
from matching.instrument import BASIS_POINTS
from matching.risk_limits import RiskLimits, money

if TYPE_CHECKING:
    from matching.ledger import AccountLedger, Holding


def limit_breach(
    limits: RiskLimits,
    ledger: AccountLedger,
    holding: Holding | None,
    symbol: str,
    buy: bool,
    messages: int,
    quantity: int,
    value: int,
    price: int,
    reference: int,
    added: int,
    extra_cash: int,
    new: bool,
) -> tuple[RejectReason, str] | None:
    """The first limit an order message breaks, with its text; or None.

    ``quantity`` is the order's total size valued at ``value`` per share,
    ``price`` its limit price (0 when it has none, so no collar applies),
    ``messages`` the account's order messages this second, this one included.
    ``added`` is the open quantity it adds on its side and ``extra_cash`` the
    cash a buy reserves on top of what it held; ``new`` is False for a replace.
    """
    max_quantity, max_notional, collar, max_position, max_open, max_rate, short = limits
    if max_rate is not None and messages > max_rate:
        return (
            RejectReason.RISK_MESSAGE_RATE,
            f"{messages} order messages this second: max_messages_per_second is {max_rate}",
        )
    if max_quantity is not None and quantity > max_quantity:
        return (
            RejectReason.RISK_MAX_ORDER_QUANTITY,
            f"quantity {quantity} exceeds max_order_quantity {max_quantity}",
        )
    if max_notional is not None and value * quantity > max_notional:
        return (
            RejectReason.RISK_MAX_ORDER_NOTIONAL,
            f"notional {money(value * quantity)} exceeds max_order_notional {money(max_notional)}",
        )
    if (
        collar is not None
        and price
        and reference
        and abs(price - reference) * BASIS_POINTS > reference * collar
    ):
        return (
            RejectReason.RISK_PRICE_COLLAR,
            f"price {money(price)} is more than {collar} bps from the reference "
            f"price {money(reference)}",
        )
    if new and max_open is not None and ledger.open_orders >= max_open:
        return (
            RejectReason.RISK_MAX_OPEN_ORDERS,
            f"{ledger.open_orders} open orders already: max_open_orders is {max_open}",
        )
    held = open_buy = open_sell = 0
    if holding is not None:
        held = holding.quantity
        open_buy = holding.open_buy
        open_sell = holding.open_sell
    if max_position is not None:
        # An order that only brings its side's worst case closer to flat
        # passes even over the limit: an account above a lowered limit can
        # reduce, but not turn round past it.
        before = held + open_buy if buy else held - open_sell
        after = before + added if buy else before - added
        worst = abs(after)
        if worst > max_position and not (0 <= after < before or before < after <= 0):
            return (
                RejectReason.RISK_POSITION_LIMIT,
                f"position of {worst} with open orders would exceed "
                f"max_position_quantity {max_position}",
            )
    if buy:
        if new and not value:
            return (
                RejectReason.RISK_BUYING_POWER,
                f"no reference price for {symbol} to value a market order at",
            )
        buying_power = ledger.cash - ledger.reserved
        if extra_cash > buying_power:
            needs = (
                f"order costs {money(extra_cash)}"
                if new
                else (f"replace needs {money(extra_cash)} more")
            )
            return (
                RejectReason.RISK_BUYING_POWER,
                f"{needs}, buying power is {money(buying_power)}",
            )
    elif not short and added > held - open_sell:
        more = "" if new else " more"
        return (
            RejectReason.RISK_INSUFFICIENT_POSITION,
            f"selling {added}{more} needs a position: {max(held - open_sell, 0)} "
            f"{symbol} free to sell, short selling not allowed",
        )
    return None
