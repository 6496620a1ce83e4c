"""What a committed log is, whatever engine keeps it, and how one is named.

A log holds the journal's records in sequence order, each once: the
sequence is the record's identity in the log (the entry id of a Redis
stream; a Kafka backend would carry it in a header and keep one partition),
so whoever appends again after a crash cannot add a record twice, and the
log refuses a record that does not follow its last one. Readers ask for the
records after the last one they applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_STREAM = "stx:committed"
"""The Redis stream the relay appends to unless the URL names another."""
SCHEMES = ("redis://", "rediss://", "unix://")

Record = tuple[int, bytes]
"""A journal record: its sequence and its payload, the journal's own bytes."""


class LogError(RuntimeError):
    """The log cannot serve what was asked: a gap, a trimmed start, another history."""


class CommittedLog(Protocol):
    async def append(self, records: Sequence[Record]) -> int:
        """Append ``records`` (consecutive, in order), skipping those the log
        already holds; how many were new. ``LogError`` if the first new one
        does not follow the log's last record."""

    async def last_sequence(self) -> int:
        """The sequence of the log's last record; 0 when it is empty."""

    async def first_sequence(self) -> int:
        """The sequence of the oldest record still kept; 0 when it is empty."""

    async def read(self, after: int, limit: int) -> list[Record]:
        """Up to ``limit`` records after sequence ``after``, in order (what
        the log holds: the caller checks that none is missing)."""

    async def wait_beyond(self, sequence: int, timeout: float) -> int:
        """Wait at most ``timeout`` seconds for a record after ``sequence``;
        the log's last sequence then."""

    async def close(self) -> None: ...


def split_url(url: str) -> tuple[str, str]:
    """``redis://host:port/db?stream=name`` as the server's URL (without
    ``stream``) and the stream's name (``DEFAULT_STREAM`` if not given)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    streams = [value for key, value in query if key == "stream"]
    rest = [(key, value) for key, value in query if key != "stream"]
    stream = streams[-1] if streams else DEFAULT_STREAM
    return urlunsplit(parts._replace(query=urlencode(rest))), stream


def url_problem(url: str) -> str | None:
    """Why ``url`` names no log this server can use, or None."""
    if not url.startswith(SCHEMES):
        return (
            "expected redis://host:port/db?stream=NAME (Redis Streams; a Kafka backend "
            "is described in docs/decisions/0009-committed-log-relay.md but not built)"
        )
    if not split_url(url)[1]:
        return "stream= names no stream"
    return None
