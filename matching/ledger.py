"""One account's books inside the core: cash, reservations, positions, P&L.

The ledgers are plain data that ``risk.py`` (which follows the engine's events
and runs the pre-trade controls) and ``risk_checks.py`` (the limits of one
order message) both read; they live here, apart from both, so neither of
those imports the other for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from matching.risk_limits import RiskLimits

SECOND: Final = 1_000_000_000
"""Nanoseconds of command time in a second (the message-rate window)."""


def _round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, ties to even."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


class Holding:
    """One account's position in one instrument, and its open orders there."""

    __slots__ = ("cost", "open_buy", "open_sell", "quantity", "realized")

    def __init__(self) -> None:
        self.quantity = 0
        """Shares held; negative when short."""
        self.cost = 0
        """What the open position cost (negative for a short: what it raised)."""
        self.realized = 0
        self.open_buy = 0
        """Open quantity of the account's buy orders (stops included)."""
        self.open_sell = 0

    def trade(self, buy: bool, quantity: int, price: int) -> None:
        """Book a fill by average cost."""
        signed = quantity if buy else -quantity
        held = self.quantity
        if held and (held > 0) != buy:
            closing = min(quantity, abs(held))
            removed = _round_half_even(self.cost * closing, abs(held))
            proceeds = closing * price if held > 0 else -closing * price
            self.realized += proceeds - removed
            self.cost -= removed
            self.quantity = held + (-closing if held > 0 else closing)
            opening = quantity - closing
            if opening:
                self.quantity += opening if buy else -opening
                self.cost += (opening if buy else -opening) * price
            if not self.quantity:
                self.cost = 0
            return
        self.quantity = held + signed
        self.cost += signed * price

    @property
    def average_cost(self) -> int:
        return _round_half_even(self.cost, self.quantity) if self.quantity else 0

    def unrealized(self, mark: int) -> int:
        return self.quantity * mark - self.cost if self.quantity else 0

    def is_empty(self) -> bool:
        return not (self.quantity or self.realized or self.open_buy or self.open_sell)


class AccountLedger:
    """Cash, reservations, holdings, limits and the kill switch of one account."""

    __slots__ = (
        "cash",
        "holdings",
        "kill_reason",
        "killed",
        "limits",
        "messages",
        "name",
        "open_orders",
        "reserved",
        "updated",
        "window",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.cash = 0
        self.reserved = 0
        """Cash promised to open buy orders: reserve price times open quantity."""
        self.holdings: dict[str, Holding] = {}
        self.limits: RiskLimits | None = None
        """The account's own limits; None follows the exchange's defaults."""
        self.open_orders = 0
        self.killed = False
        self.kill_reason = ""
        self.updated = 0
        """Command time of the last change of cash or positions."""
        self.window = -1
        """The second of command time ``messages`` counts."""
        self.messages = 0

    @property
    def buying_power(self) -> int:
        return self.cash - self.reserved

    def holding(self, symbol: str) -> Holding:
        holding = self.holdings.get(symbol)
        if holding is None:
            holding = self.holdings[symbol] = Holding()
        return holding

    def count_message(self, timestamp: int) -> int:
        """Count one order message; the number counted in its second."""
        second = timestamp // SECOND
        if second != self.window:
            self.window = second
            self.messages = 0
        self.messages += 1
        return self.messages

    def messages_in_second(self, now: int) -> int:
        return self.messages if now // SECOND == self.window else 0
