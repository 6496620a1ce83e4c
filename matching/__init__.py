"""The deterministic matching engine.

Pure Python with no I/O, clock, randomness, asyncio or third-party imports:
commands in, events out. See docs/architecture.md.
"""

from matching.commands import (
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    Command,
    MassCancel,
    NewOrder,
    ReplaceOrder,
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
    AuctionCompleted,
    CancelRejected,
    CommandRejected,
    Event,
    InstrumentAdded,
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    StopTriggered,
    TopOfBookChanged,
    Trade,
    TradingPhaseChanged,
)
from matching.instrument import Instrument
from matching.state import InvariantError

__all__ = [
    "AddInstrument",
    "AdvanceTime",
    "AuctionCompleted",
    "CancelOrder",
    "CancelReason",
    "CancelRejected",
    "Command",
    "CommandRejected",
    "Engine",
    "Event",
    "Instrument",
    "InstrumentAdded",
    "InvariantError",
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
    "SelfTradePrevention",
    "SetTradingPhase",
    "Side",
    "StopTriggered",
    "TimeInForce",
    "TopOfBookChanged",
    "Trade",
    "TradingPhase",
    "TradingPhaseChanged",
]
