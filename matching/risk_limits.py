"""Risk limits of an account, as commands and events carry them."""

from typing import Final, NamedTuple

from matching.instrument import BASIS_POINTS


class RiskLimits(NamedTuple):
    """Limits of one account; None means no limit (the contract's unset field)."""

    max_order_quantity: int | None = None
    max_order_notional: int | None = None
    price_collar_bps: int | None = None
    max_position_quantity: int | None = None
    max_open_orders: int | None = None
    max_messages_per_second: int | None = None
    allow_short_selling: bool = False

    def validation_error(self) -> str | None:
        """Why these limits cannot be used, or None."""
        for name in self._fields[:-1]:
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                return f"{name} must be a whole number >= 0, not {value!r}"
        if type(self.allow_short_selling) is not bool:
            return "allow_short_selling must be true or false"
        return None


NO_LIMITS: Final = RiskLimits()


def money(value: int) -> str:
    """An amount in the contract's unit as a decimal string, for messages."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), BASIS_POINTS)
    return f"{sign}{whole}.{fraction:04d}"
