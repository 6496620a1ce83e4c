"""Commands: the only way to change engine state.

Every command carries the time at which the sequencer accepted it, in integer
nanoseconds since the Unix epoch; the engine has no clock of its own, so a
journal of commands replays to exactly the same events.
"""

from typing import Final, NamedTuple

from matching.enums import (
    CancelReason,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    TradingPhase,
)
from matching.instrument import Instrument
from matching.risk_limits import RiskLimits


class NewOrder(NamedTuple):
    """Enter an order. The engine assigns the order id (see ``OrderAccepted``).

    ``price`` is the limit price (LIMIT, STOP_LIMIT); ``stop_price`` the trigger
    (STOP, STOP_LIMIT); ``display_quantity`` > 0 makes a limit order an iceberg
    showing that much at a time; ``expire_time`` is used with GTD only.
    """

    timestamp: int
    account: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: int
    price: int = 0
    time_in_force: TimeInForce = TimeInForce.DAY
    stop_price: int = 0
    display_quantity: int = 0
    post_only: bool = False
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.NONE
    expire_time: int = 0


class CancelOrder(NamedTuple):
    timestamp: int
    account: str
    order_id: int


class ReplaceOrder(NamedTuple):
    """Change price and total quantity (FIX OrderQty: filled quantity included).

    Reducing the quantity at the same price keeps time priority; a new price or
    a larger quantity sends the order to the back of the queue. ``stop_price``
    applies to orders still waiting for their trigger; 0 keeps it.
    """

    timestamp: int
    account: str
    order_id: int
    price: int
    quantity: int
    stop_price: int = 0


class MassCancel(NamedTuple):
    """Cancel every open order of ``account``; only in ``symbol`` when it is set."""

    timestamp: int
    account: str
    symbol: str = ""
    reason: CancelReason = CancelReason.MASS_CANCEL


class SetTradingPhase(NamedTuple):
    """Move an instrument to another phase; leaving a call phase uncrosses it."""

    timestamp: int
    symbol: str
    phase: TradingPhase


class AddInstrument(NamedTuple):
    timestamp: int
    instrument: Instrument
    phase: TradingPhase = TradingPhase.CONTINUOUS


class AdvanceTime(NamedTuple):
    """Let time pass with no other command, so GTD orders expire on time."""

    timestamp: int


class FundAccount(NamedTuple):
    """Credit ``amount`` to an account's cash (a negative amount debits it, never
    below what its open buy orders reserve)."""

    timestamp: int
    account: str
    amount: int


class SetRiskLimits(NamedTuple):
    """Give an account its own limits; ``account`` empty sets the defaults of
    every account without limits of its own. ``None`` limits drop the
    account's own limits (it follows the defaults again)."""

    timestamp: int
    account: str
    limits: RiskLimits | None


class SetKillSwitch(NamedTuple):
    """Block ``accounts`` (cancelling every open order of theirs) or unblock them."""

    timestamp: int
    accounts: tuple[str, ...]
    active: bool
    reason: str


DEFAULT_MARKET_PROTECTION_BPS: Final = 500
"""5%: wide enough for a market order to reach a normal book's depth."""


class ConfigureControls(NamedTuple):
    """Market-wide controls.

    ``enforce_limits`` turns the accounts' pre-trade limits on (the kill switch
    applies regardless). A trade outside an instrument's volatility band
    pauses it for ``pause_ns`` in a call phase, which ends in a reopening
    auction. ``breaker_levels`` are ``(fall in basis points, halt in ns)``
    pairs, ascending: when the market index falls that far below the previous
    close every instrument halts for that long (0: for the rest of the day),
    then reopens through a call phase of ``reopen_call_ns``. While limits are
    enforced a buy market order trades no higher than
    ``market_protection_bps`` above its value (the reference price; a stop's
    stop price), the price its cash is reserved at.
    """

    timestamp: int
    enforce_limits: bool
    pause_ns: int = 300_000_000_000
    reopen_call_ns: int = 60_000_000_000
    breaker_levels: tuple[tuple[int, int], ...] = ()
    market_protection_bps: int = DEFAULT_MARKET_PROTECTION_BPS


Command = (
    NewOrder
    | CancelOrder
    | ReplaceOrder
    | MassCancel
    | SetTradingPhase
    | AddInstrument
    | AdvanceTime
    | FundAccount
    | SetRiskLimits
    | SetKillSwitch
    | ConfigureControls
)
