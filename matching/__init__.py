"""The deterministic matching engine.

Pure Python with no I/O, clock, randomness, asyncio or third-party imports:
commands in, events out. See docs/architecture.md.

Compiled with mypyc from this same source where it can be (``BUILD`` says
which build runs; ``matching/build.py``).
"""

from matching.build import BUILD
from matching.commands import (
    DEFAULT_MARKET_PROTECTION_BPS,
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    Command,
    ConfigureControls,
    FundAccount,
    MassCancel,
    NewOrder,
    ReplaceOrder,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
)
from matching.engine import Engine
from matching.enums import (
    CancelReason,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
    TradingPhase,
)
from matching.events import (
    AccountFunded,
    AuctionCompleted,
    CancelRejected,
    CommandRejected,
    ControlsConfigured,
    Event,
    InstrumentAdded,
    KillSwitchChanged,
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    RiskLimitsChanged,
    StopTriggered,
    TopOfBookChanged,
    Trade,
    TradingPaused,
    TradingPhaseChanged,
)
from matching.instrument import Instrument
from matching.risk_limits import NO_LIMITS, RiskLimits
from matching.state_errors import InvariantError

__all__ = [
    "BUILD",
    "DEFAULT_MARKET_PROTECTION_BPS",
    "NO_LIMITS",
    "AccountFunded",
    "AddInstrument",
    "AdvanceTime",
    "AuctionCompleted",
    "CancelOrder",
    "CancelReason",
    "CancelRejected",
    "Command",
    "CommandRejected",
    "ConfigureControls",
    "ControlsConfigured",
    "Engine",
    "Event",
    "FundAccount",
    "Instrument",
    "InstrumentAdded",
    "InvariantError",
    "KillSwitchChanged",
    "LevelChanged",
    "MassCancel",
    "NewOrder",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderReduced",
    "OrderRejected",
    "OrderReplaced",
    "OrderType",
    "RejectReason",
    "ReplaceOrder",
    "RiskLimits",
    "RiskLimitsChanged",
    "SelfTradePrevention",
    "SetKillSwitch",
    "SetRiskLimits",
    "SetTradingPhase",
    "Side",
    "StopTriggered",
    "TimeInForce",
    "TopOfBookChanged",
    "Trade",
    "TradingPaused",
    "TradingPhase",
    "TradingPhaseChanged",
]
