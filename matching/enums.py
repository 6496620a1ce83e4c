"""Enumerations shared by commands and events.

Numeric values equal those of the public Protobuf contract
(``protos/stocktraderx/v1``), so the gateways convert with ``Enum(value)`` and
no lookup table. Value 0 (``*_UNSPECIFIED`` in the contract) never reaches the
engine: the gateways either default it or reject the request.
"""

from enum import IntEnum


class Side(IntEnum):
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    LIMIT = 1
    MARKET = 2
    STOP = 3
    STOP_LIMIT = 4


class TimeInForce(IntEnum):
    DAY = 1
    GTC = 2
    IOC = 3
    FOK = 4
    GTD = 5


class SelfTradePrevention(IntEnum):
    """What happens when an incoming order would trade with its own account.

    The incoming (aggressing) order's instruction decides, as on most venues.
    """

    NONE = 1
    CANCEL_RESTING = 2
    CANCEL_INCOMING = 3
    CANCEL_BOTH = 4
    DECREMENT = 5


class TradingPhase(IntEnum):
    CLOSED = 1
    PRE_OPEN = 2
    CONTINUOUS = 3
    CLOSING_AUCTION = 4
    HALTED = 5


class RejectReason(IntEnum):
    """Why a command was refused. Numbered like exchange-core's result codes.

    1-39 are the engine's own validation; 40 and above are pre-trade risk
    controls. The gateways map each code to a gRPC status and an HTTP code in
    one table.
    """

    UNKNOWN_SYMBOL = 1
    INVALID_QUANTITY = 2
    QUANTITY_NOT_MULTIPLE_OF_LOT = 3
    QUANTITY_TOO_LARGE = 4
    INVALID_PRICE = 5
    PRICE_NOT_ON_TICK = 6
    PRICE_OUTSIDE_BAND = 7
    INVALID_ORDER_TYPE = 8
    INVALID_TIME_IN_FORCE = 9
    INVALID_EXPIRE_TIME = 10
    INVALID_STOP_PRICE = 11
    INVALID_DISPLAY_QUANTITY = 12
    POST_ONLY_WOULD_TRADE = 13
    MARKET_CLOSED = 14
    TRADING_HALTED = 15
    NOT_ALLOWED_IN_PHASE = 16
    UNKNOWN_ORDER = 17
    REPLACE_QUANTITY_TOO_LOW = 18
    ORDER_NOT_REPLACEABLE = 19
    INVALID_PHASE_TRANSITION = 20
    DUPLICATE_SYMBOL = 21
    INVALID_INSTRUMENT = 22
    DUPLICATE_CLIENT_ORDER_ID = 23
    UNKNOWN_ACCOUNT = 24
    INVALID_SIDE = 25
    INVALID_SELF_TRADE_PREVENTION = 26
    INVALID_RISK_LIMITS = 27
    INVALID_AMOUNT = 28
    RISK_MAX_ORDER_QUANTITY = 40
    RISK_MAX_ORDER_NOTIONAL = 41
    RISK_PRICE_COLLAR = 42
    RISK_BUYING_POWER = 43
    RISK_INSUFFICIENT_POSITION = 44
    RISK_POSITION_LIMIT = 45
    RISK_MAX_OPEN_ORDERS = 46
    RISK_MESSAGE_RATE = 47
    KILL_SWITCH_ACTIVE = 48


class CancelReason(IntEnum):
    USER_REQUESTED = 1
    MASS_CANCEL = 2
    SELF_TRADE_PREVENTION = 3
    IMMEDIATE_OR_CANCEL = 4
    """The unfilled remainder of an IOC order or of a market order."""
    FILL_OR_KILL = 5
    AUCTION_UNEXECUTED = 6
    """A market order left over after an auction uncrossed."""
    KILL_SWITCH = 7
    ADMIN = 8
    MARKET_PROTECTION = 9
    """What a buy market order could not trade within its protection price."""
