"""Decimal strings at the edge, fixed-point integers on the wire.

Prices travel as integers with 4 implied decimals (1 = 0.0001); people type
and read "190.05". Conversion is exact or refused, never rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

PRICE_SCALE = 10_000


def parse_price(text: str) -> int:
    try:
        value = Decimal(text.strip().removeprefix("@"))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a price (write it like 190.05)") from None
    scaled = value * PRICE_SCALE
    if not value.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than 4 decimal places")
    if scaled <= 0:
        raise ValueError(f"{text!r} is not a positive price")
    return int(scaled)


def format_price(units: int) -> str:
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), PRICE_SCALE)
    return f"{sign}{whole}.{fraction:04d}".rstrip("0").rstrip(".") if fraction else f"{sign}{whole}"


def format_amount(units: int) -> str:
    """Cash or a price in a column: thousands separated, at least two decimals
    and every one that is not zero, so 190.00 lines up with 190.05 and
    190.0125 is shown whole."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), PRICE_SCALE)
    decimals = f"{fraction:04d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole:,}.{decimals}"
