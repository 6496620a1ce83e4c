"""In-process shared state and event bus, for the embedded default."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from server.shared.base import BusEntry, id_key

MEMORY_MAXLEN = 100_000
"""Entries kept per stream in-process: the embedded default's memory is the server's."""


class MemoryShared:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.quotes: dict[str, bytes] = {}
        self._windows: dict[str, tuple[int, int]] = {}
        """Key -> (window number, count in it)."""
        self._revoked: dict[str, float] = {}
        self._listeners: list[Callable[[str], None]] = []

    async def put_quotes(self, quotes: dict[str, bytes]) -> None:
        self.quotes.update(quotes)

    async def get_quote(self, symbol: str) -> bytes | None:
        return self.quotes.get(symbol)

    async def hit(self, key: str, window_seconds: int) -> int:
        window = int(self._clock() // window_seconds)
        current, count = self._windows.get(key, (window, 0))
        count = count + 1 if current == window else 1
        self._windows[key] = (window, count)
        return count

    async def count(self, key: str, window_seconds: int) -> int:
        window = int(self._clock() // window_seconds)
        current, counted = self._windows.get(key, (window, 0))
        return counted if current == window else 0

    async def revoke(self, token_id: str, until: float) -> None:
        self._revoked[token_id] = until
        for listener in self._listeners:
            listener(token_id)

    async def reinstate(self, token_id: str) -> None:
        self._revoked.pop(token_id, None)

    async def is_revoked(self, *token_ids: str) -> bool:
        now = self._clock()
        found = False
        for token_id in token_ids:
            until = self._revoked.get(token_id)
            if until is None:
                continue
            if until <= now:
                del self._revoked[token_id]
                continue
            found = True
        return found

    async def watch_revocations(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    async def close(self) -> None:
        return None


class _Group:
    def __init__(self) -> None:
        self.delivered = 0
        """Entries of the stream's history handed to this group so far."""
        self.pending: dict[str, str] = {}
        """Entry id -> consumer, until acknowledged."""


class MemoryBus:
    def __init__(self, maxlen: int = MEMORY_MAXLEN) -> None:
        self._maxlen = maxlen
        self._streams: dict[str, deque[BusEntry]] = {}
        self._trimmed: dict[str, int] = {}
        """Entries dropped from the front of each stream."""
        self._groups: dict[tuple[str, str], _Group] = {}
        self._arrived = asyncio.Condition()

    async def publish(self, stream: str, entries: list[BusEntry]) -> None:
        log = self._streams.setdefault(stream, deque())
        last = id_key(log[-1].id) if log else (-1, -1)
        for entry in entries:
            if id_key(entry.id) <= last:
                continue
            log.append(entry)
            last = id_key(entry.id)
            if len(log) > self._maxlen:
                log.popleft()
                self._trimmed[stream] = self._trimmed.get(stream, 0) + 1
        async with self._arrived:
            self._arrived.notify_all()

    async def last_id(self, stream: str) -> str | None:
        log = self._streams.get(stream)
        return log[-1].id if log else None

    async def ensure_group(self, stream: str, group: str) -> None:
        self._streams.setdefault(stream, deque())
        self._groups.setdefault((stream, group), _Group())

    async def read_group(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int = 0
    ) -> list[BusEntry]:
        state = self._groups.get((stream, group))
        if state is None:
            raise KeyError(f"no group {group!r} on stream {stream!r}")
        entries = self._take(stream, state, consumer, count)
        if not entries and block_ms:
            async with self._arrived:
                try:
                    await asyncio.wait_for(self._arrived.wait(), block_ms / 1000)
                except TimeoutError:
                    return []
            entries = self._take(stream, state, consumer, count)
        return entries

    def _take(self, stream: str, state: _Group, consumer: str, count: int) -> list[BusEntry]:
        log = self._streams[stream]
        trimmed = self._trimmed.get(stream, 0)
        start = max(state.delivered - trimmed, 0)
        entries = [log[index] for index in range(start, min(start + count, len(log)))]
        state.delivered = trimmed + start + len(entries)
        for entry in entries:
            state.pending[entry.id] = consumer
        return entries

    async def ack(self, stream: str, group: str, ids: list[str]) -> int:
        state = self._groups.get((stream, group))
        if state is None:
            return 0
        return sum(state.pending.pop(entry_id, None) is not None for entry_id in ids)

    async def close(self) -> None:
        return None
