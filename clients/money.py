"""Decimal strings at the edge, fixed-point integers on the wire.

Prices and money travel as integers with 4 implied decimals (1 = 0.0001;
the contract's ``decimal_places``); people type "190.05". Conversion is exact
or refused, never rounded.

Every price and amount the ``stx`` commands print has those 4 decimals, all
of them, whatever the instrument's tick: 190.0000 above 190.0100 and 12.0050,
the same as the exchange's own messages ("the tick size of AAPL is 0.0100").
One rule for every command, with no instrument to look up first, and no
amount is ever shown rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

PRICE_SCALE = 10_000
DECIMALS = 4


def parse_price(text: str) -> int:
    try:
        value = Decimal(text.strip().removeprefix("@"))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a price (write it like 190.05)") from None
    scaled = value * PRICE_SCALE
    if not value.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {DECIMALS} decimal places")
    if scaled <= 0:
        raise ValueError(f"{text!r} is not a positive price")
    return int(scaled)


def format_price(units: int) -> str:
    """A price as one types it back into ``stx order``: 190.0500."""
    return _fixed(units, "")


def format_amount(units: int) -> str:
    """Cash, profit and loss or a price in a money column, thousands
    separated: 1,000,000.0000."""
    return _fixed(units, ",")


def _fixed(units: int, grouping: str) -> str:
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), PRICE_SCALE)
    return f"{sign}{whole:{grouping}}.{fraction:0{DECIMALS}d}"
