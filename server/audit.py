"""The tamper-evident chain of the audit logs.

Every entry of ``audit_log`` (one per journaled command, written by the
projector in sequence order) and of ``auth_log`` (one per authentication
event) carries ``hash = SHA-256(previous entry's hash, the entry's
fields)``. Editing an entry breaks its hash; deleting one breaks the next
entry's link (and, in ``audit_log``, the run of sequence numbers).
``verify`` walks a chain and names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

GENESIS = "0" * 64
AUDIT_FIELDS = (
    "sequence", "time", "account_id", "action", "client_order_id", "detail",
    "user_id", "source", "gateway",
)  # fmt: skip
AUTH_FIELDS = ("entry_id", "time", "event", "user_id", "username", "source", "gateway", "detail")
_SEPARATOR = "\x1f"


def entry_hash(previous: str, row: Mapping[str, Any], fields: Sequence[str]) -> str:
    text = _SEPARATOR.join([previous, *(str(row[name]) for name in fields)])
    return hashlib.sha256(text.encode()).hexdigest()


def verify(
    rows: Iterable[Mapping[str, Any]], fields: Sequence[str], key: str
) -> tuple[int, str | None]:
    """Entries checked, and the first problem (None if the chain holds)."""
    previous = GENESIS
    expected_key: int | None = None
    checked = 0
    for row in rows:
        if expected_key is not None and row[key] != expected_key:
            return checked, f"{key} {expected_key} is missing (next is {row[key]})"
        if row["previous_hash"] != previous:
            return checked, f"{key} {row[key]}: does not follow the entry before it"
        if entry_hash(previous, row, fields) != row["hash"]:
            return checked, f"{key} {row[key]}: its content was changed"
        previous = row["hash"]
        expected_key = row[key] + 1
        checked += 1
    return checked, None
