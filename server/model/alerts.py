"""Alert values: what a detector (or a person) raises, with its evidence.

Plain immutable values with no protobuf, so detectors stay pure and the
store and the risk service convert at their edges. The enumerations carry
the numbers of the contract (``protos/stocktraderx/v1/risk.proto``), so the
service converts with ``AlertKind(value)`` and no table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


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


class AlertStatus(IntEnum):
    """Where an alert stands in the desk's review (the contract documents each)."""

    OPEN = 1
    UNDER_REVIEW = 2
    ESCALATED = 3
    DISMISSED = 4
    CONFIRMED = 5

    @property
    def closed(self) -> bool:
        return self in (AlertStatus.DISMISSED, AlertStatus.CONFIRMED)


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
    status: AlertStatus = AlertStatus.OPEN
    reviewer_user_id: str = ""
    """The last review's reviewer; with ``review_time`` and ``review_note``,
    empty or 0 while the alert was never reviewed."""
    review_time: int = 0
    review_note: str = ""
    review_count: int = 0


@dataclass(frozen=True, slots=True)
class AlertReview:
    """One review of an alert, as kept in its history."""

    alert_id: str
    review_id: int
    """The store's id: increasing in the order reviews were stored."""
    from_status: AlertStatus
    to_status: AlertStatus
    reviewer_user_id: str
    review_time: int
    note: str


class ReviewRefusal(Enum):
    """Why a review of an alert is refused, once its current status is known."""

    UNKNOWN_ALERT = "unknown_alert"
    CLOSED = "closed"
    """The alert is dismissed or confirmed and the reviewer may not reopen it."""
    UNCHANGED_WITHOUT_NOTE = "unchanged_without_note"
    """A review that keeps the status adds only its note, so it needs one."""


def review_refusal(
    current: AlertStatus, wanted: AlertStatus, note: str, may_reopen: bool
) -> ReviewRefusal | None:
    """Whether an alert in ``current`` may move to ``wanted``. A closed alert
    is final for risk officers: only an administrator (``may_reopen``) may
    change it, so a decision on the record cannot be quietly undone. The
    rules that do not depend on ``current`` (a known status, a note to close)
    are the gateway's input checks."""
    if current.closed and not may_reopen:
        return ReviewRefusal.CLOSED
    if current is wanted and not note:
        return ReviewRefusal.UNCHANGED_WITHOUT_NOTE
    return None


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
