"""Alert values: what a detector (or a person) raises, with its evidence.

Plain immutable values with no protobuf, so detectors stay pure and the
store and the risk service convert at their edges. The enumerations carry
the numbers of the contract (``protos/stocktraderx/v1/risk.proto``), so the
service converts with ``AlertKind(value)`` and no table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class AlertKind(IntEnum):
    SPOOFING = 1
    LAYERING = 2
    WASH_TRADE = 3
    ORDER_TO_TRADE_RATIO = 4
    ABNORMAL_PRICE_MOVE = 5
    MANUAL = 6


class AlertSeverity(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. Times are integer nanoseconds since the epoch.

    ``order_ids``, ``trade_ids``, ``start_time``, ``end_time`` and
    ``details`` are the evidence (the contract's ``AlertEvidence``);
    ``details`` holds the measurements as sorted ``(key, value)`` pairs so
    that equal alerts compare and hash equal. ``create_time`` is the
    timestamp of the command that raised the alert, never a wall clock, so
    replaying the journal raises the very same alert.
    """

    kind: AlertKind
    severity: AlertSeverity
    account: str
    symbol: str
    description: str
    order_ids: tuple[int, ...]
    trade_ids: tuple[int, ...]
    start_time: int
    end_time: int
    details: tuple[tuple[str, str], ...]
    create_time: int
    creator_user_id: str = ""
    alert_id: str = ""
    """Assigned by the store (``Store.add_alerts``); empty until stored."""


def details(**values: object) -> tuple[tuple[str, str], ...]:
    """Measurements as the sorted ``(key, value)`` pairs an ``Alert`` carries."""
    return tuple(sorted((key, str(value)) for key, value in values.items()))


def format_price(price: int) -> str:
    """A fixed-point price (4 implied decimals) as a decimal, for descriptions."""
    sign = "-" if price < 0 else ""
    whole, fraction = divmod(abs(price), 10_000)
    return f"{sign}{whole}.{fraction:04d}"


def format_duration(nanoseconds: int) -> str:
    """A duration in seconds with millisecond precision ("1.250 s"), without floats."""
    milliseconds = nanoseconds // 1_000_000
    return f"{milliseconds // 1000}.{milliseconds % 1000:03d} s"


def format_bps(bps: int) -> str:
    """Basis points as a signed percentage with two decimals ("-5.25%")."""
    sign = "-" if bps < 0 else "+"
    whole, fraction = divmod(abs(bps), 100)
    return f"{sign}{whole}.{fraction:02d}%"
