"""What the gateway and the analytics process agree on about a report
request: where the analytics process listens, and how days and pages read."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

SOCKET_FILE = "analytics.sock"
"""The analytics process's gRPC socket in the data directory (private to it,
like ``core.sock``): only the gateway, which checks access first, calls it."""
DEFAULT_FILLS = 1_000
MAX_FILLS = 10_000
MAX_RANGE_DAYS = 366
"""The most days one range report covers (both ends included): RTS 28
reports a calendar year."""
DEFAULT_INTERVAL_SECONDS = 300
"""The latency report's intervals when the request names none: five minutes."""
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def socket_path(directory: Path) -> Path:
    return directory / SOCKET_FILE


def parse_day(text: str) -> datetime.date | None:
    """A UTC day written ``YYYY-MM-DD``; None if it is not one."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def parse_event_after(token: str) -> tuple[int, int] | None:
    """An order-event page token, ``SEQUENCE-INDEX`` of the last event of the
    page before; (0, -1) for none, None if it is not one we issued."""
    if not token:
        return (0, -1)
    sequence, dash, index = token.partition("-")
    if not dash or parse_after(sequence) is None or parse_after(index) is None:
        return None
    return int(sequence), int(index)


def parse_after(token: str) -> int | None:
    """A trade report's page token (the last report sequence of the page
    before); 0 for none, None if it is not one we issued."""
    if not token:
        return 0
    if not token.isascii() or not token.isdigit() or len(token) > 18:
        return None
    return int(token)
