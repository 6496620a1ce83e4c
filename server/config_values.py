"""What every parser of the configuration shares: its error, and fixed-point decimals.

Apart from ``config.py`` so that the parsers of its sections
(``risk_config.py``) can use them without importing ``config.py``, which
imports them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

PRICE_SCALE = 10_000


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key."""


def parse_fixed(text: object, key: str, scale: int = PRICE_SCALE) -> int:
    """A decimal string such as "190.05" as an integer count of 1/``scale``."""
    if not isinstance(text, str | int) or isinstance(text, bool):
        raise ConfigError(f"{key}: expected a decimal string such as '190.05', got {text!r}")
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ConfigError(f"{key}: {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ConfigError(f"{key}: {text!r} is not a finite number")
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"{key}: {text!r} is finer than 1/{scale}")
    return int(scaled)
