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


class Chain:
    """A chain checked entry by entry, in order (so a long log can be read in
    pages): the entries that hold so far, and the first problem."""

    def __init__(self, fields: Sequence[str], key: str) -> None:
        self._fields = fields
        self._key = key
        self._previous = GENESIS
        self._expected_key: int | None = None
        self.checked = 0
        self.problem: str | None = None

    def add(self, row: Mapping[str, Any]) -> bool:
        """Check the next entry; False once the chain has broken."""
        if self.problem is not None:
            return False
        key = self._key
        if self._expected_key is not None and row[key] != self._expected_key:
            self.problem = f"{key} {self._expected_key} is missing (next is {row[key]})"
        elif row["previous_hash"] != self._previous:
            self.problem = f"{key} {row[key]}: does not follow the entry before it"
        elif entry_hash(self._previous, row, self._fields) != row["hash"]:
            self.problem = f"{key} {row[key]}: its content was changed"
        else:
            self._previous = row["hash"]
            self._expected_key = row[key] + 1
            self.checked += 1
            return True
        return False


def verify(
    rows: Iterable[Mapping[str, Any]], fields: Sequence[str], key: str
) -> tuple[int, str | None]:
    """Entries checked, and the first problem (None if the chain holds)."""
    chain = Chain(fields, key)
    for row in rows:
        if not chain.add(row):
            break
    return chain.checked, chain.problem
