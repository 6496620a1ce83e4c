"""Events: everything the engine says, in the order it happened.

Events are immutable tuples that carry values, never references to engine
objects, so consumers may keep them. They carry no time: the sequencer pairs
each command's events with that command's sequence number and timestamp.
"""

from typing import NamedTuple

from matching.enums import (
    CancelReason,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    TradingPhase,
)
from matching.risk_limits import RiskLimits


class OrderAccepted(NamedTuple):
    symbol: str
    order_id: int
    account: str
    side: Side
    order_type: OrderType
    price: int
    quantity: int
    time_in_force: TimeInForce


class OrderRejected(NamedTuple):
    """A new order that was refused; ``order_id`` is 0 unless it had one already
    (a stop order refused when its trigger fired). ``text`` names the limit and
    the value when a risk control refused it."""

    symbol: str
    account: str
    reason: RejectReason
    order_id: int = 0
    text: str = ""


class CancelRejected(NamedTuple):
    """A cancel or replace that was refused (FIX OrderCancelReject)."""

    order_id: int
    account: str
    reason: RejectReason
    text: str = ""


class CommandRejected(NamedTuple):
    """An administrative command (phase change, new instrument, funding...)
    that was refused; ``symbol`` is empty when it concerned none."""

    symbol: str
    reason: RejectReason
    text: str = ""


class Trade(NamedTuple):
    """One execution, both sides. ``aggressor_side`` is None in an auction."""

    symbol: str
    trade_id: int
    price: int
    quantity: int
    aggressor_side: Side | None
    buy_order_id: int
    sell_order_id: int
    buy_account: str
    sell_account: str


class OrderFilled(NamedTuple):
    """One side of a trade. ``leaves_quantity`` 0 means the order is complete."""

    symbol: str
    order_id: int
    account: str
    trade_id: int
    price: int
    quantity: int
    leaves_quantity: int
    cum_quantity: int

    @property
    def is_complete(self) -> bool:
        return self.leaves_quantity == 0


class OrderCancelled(NamedTuple):
    symbol: str
    order_id: int
    account: str
    cancelled_quantity: int
    reason: CancelReason


class OrderReduced(NamedTuple):
    """Quantity taken off a live order without a trade (self-trade decrement)."""

    symbol: str
    order_id: int
    account: str
    reduced_by: int
    leaves_quantity: int
    reason: CancelReason


class OrderExpired(NamedTuple):
    """A DAY order at the close, or a GTD order at its expiry time."""

    symbol: str
    order_id: int
    account: str
    expired_quantity: int


class OrderReplaced(NamedTuple):
    symbol: str
    order_id: int
    account: str
    price: int
    quantity: int
    leaves_quantity: int
    stop_price: int
    priority_kept: bool


class StopTriggered(NamedTuple):
    """A stop order's trigger fired; it now enters the book as a market or limit
    order, with fresh time priority."""

    symbol: str
    order_id: int
    account: str
    trigger_price: int


class LevelChanged(NamedTuple):
    """Level 2: the visible quantity and order count at one price. A quantity of
    0 means the level is gone."""

    symbol: str
    side: Side
    price: int
    quantity: int
    order_count: int


class TopOfBookChanged(NamedTuple):
    """Level 1: best bid and ask after a command changed either (0 = none)."""

    symbol: str
    bid_price: int
    bid_quantity: int
    ask_price: int
    ask_quantity: int


class TradingPhaseChanged(NamedTuple):
    symbol: str
    phase: TradingPhase


class AuctionCompleted(NamedTuple):
    """An auction uncrossed: the equilibrium price and the volume it executed."""

    symbol: str
    price: int
    quantity: int


class InstrumentAdded(NamedTuple):
    symbol: str
    phase: TradingPhase


class AccountFunded(NamedTuple):
    """Cash credited (or debited, when negative) by an administrator."""

    account: str
    amount: int
    cash_balance: int


class RiskLimitsChanged(NamedTuple):
    """An account's limits (``account`` empty: the defaults) are now ``limits``."""

    account: str
    limits: RiskLimits


class KillSwitchChanged(NamedTuple):
    """An account was blocked (its open orders were cancelled just before) or
    unblocked."""

    account: str
    active: bool
    reason: str
    cancelled_orders: int


class ControlsConfigured(NamedTuple):
    """The market-wide controls now in force (see ``ConfigureControls``)."""

    enforce_limits: bool
    pause_ns: int
    reopen_call_ns: int
    breaker_levels: tuple[tuple[int, int], ...]
    market_protection_bps: int


class TradingPaused(NamedTuple):
    """Market protection stopped trading in ``symbol``.

    ``cause`` is ``"price_band"`` (a trade would have printed at ``price``,
    outside ``[lower, upper]``) or ``"circuit_breaker"`` (the market index fell
    ``level``'s threshold; ``price`` is the index's fall in basis points).
    Trading resumes with a call auction at ``resume_time`` (0: not by itself).
    """

    symbol: str
    cause: str
    level: int
    price: int
    lower: int
    upper: int
    resume_time: int


Event = (
    OrderAccepted
    | OrderRejected
    | CancelRejected
    | CommandRejected
    | Trade
    | OrderFilled
    | OrderCancelled
    | OrderReduced
    | OrderExpired
    | OrderReplaced
    | StopTriggered
    | LevelChanged
    | TopOfBookChanged
    | TradingPhaseChanged
    | AuctionCompleted
    | InstrumentAdded
    | AccountFunded
    | RiskLimitsChanged
    | KillSwitchChanged
    | ControlsConfigured
    | TradingPaused
)
