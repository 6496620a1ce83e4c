"""The interfaces both backends implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

STREAMS = ("orders", "executions", "trades")
"""Event bus streams; in Redis their keys are ``stx:events:<name>``."""
STREAM_MAXLEN = 1_000_000
"""Entries kept per stream (trimmed approximately); older ones are in the store."""


class BusEntry(NamedTuple):
    """One event: ``id`` is ``<engine sequence>-<index within the command>``,
    so ids increase with the journal and a replay can never add one twice."""

    id: str
    fields: dict[str, str]


class SharedState(Protocol):
    async def put_quotes(self, quotes: dict[str, bytes]) -> None:
        """Store each symbol's latest quote (a serialised ``stocktraderx.v1.Quote``)."""

    async def get_quote(self, symbol: str) -> bytes | None: ...

    async def hit(self, key: str, window_seconds: int) -> int:
        """Count one more use of ``key`` in the current window; the count so far."""

    async def count(self, key: str, window_seconds: int) -> int:
        """The uses of ``key`` counted so far in the current window."""

    async def revoke(self, token_id: str, until: float) -> None:
        """Treat ``token_id`` as revoked until the Unix time ``until`` (its expiry)."""

    async def reinstate(self, token_id: str) -> None:
        """Take ``token_id`` out of the revocation set (a user enabled again)."""

    async def is_revoked(self, *token_ids: str) -> bool:
        """Whether any of ``token_ids`` is revoked (one round trip for all)."""

    async def watch_revocations(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with every id revoked from now on, by this process
        at once and (Redis) by any other as soon as it is published."""

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, stream: str, entries: list[BusEntry]) -> None:
        """Append ``entries`` in order, skipping any whose id the stream already
        has (a publisher resuming after a crash repeats its last batch)."""

    async def last_id(self, stream: str) -> str | None: ...

    async def ensure_group(self, stream: str, group: str) -> None:
        """Create consumer group ``group`` reading from the stream's start."""

    async def read_group(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int = 0
    ) -> list[BusEntry]:
        """Entries not yet delivered to ``group``, now pending for ``consumer``."""

    async def ack(self, stream: str, group: str, ids: list[str]) -> int: ...

    async def close(self) -> None: ...


def id_key(entry_id: str) -> tuple[int, int]:
    sequence, _, index = entry_id.partition("-")
    return int(sequence), int(index or 0)
