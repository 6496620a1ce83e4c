"""Where a journal consumer (the projector, the analytics store) gets its records.

Both replay committed records through a shadow engine from the position
their store holds. ``JournalSource`` reads the journal files in the data
directory (the host the core runs on): the shadow starts from the newest
snapshot at or before that position. ``LogSource`` reads the committed log
the relay publishes (``relay.py``, ``server.committed``), for a consumer on a host with no
journal: there are no snapshots on the log, so the shadow replays it from
record 1, and the log keeps every record for that reason. Either way each
sequence is applied once, in order, and a missing one is an error that
names it, never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from server.committed.log import CommittedLog, LogError, Record
from server.consumers.retrying import RETRY_FIRST, retried
from server.journal.snapshots import load_snapshot_at_or_before
from server.journal.tail import JournalGapError, JournalTail
from server.model.state import State

_log = logging.getLogger(__name__)

REPLAY_BATCH = 5_000
"""Records per read while a shadow replays up to a store's position."""
WAIT_SECONDS = 1.0
"""How long one blocking read of the log waits for news before asking again."""


class Shadow(State):
    """An engine and a registry that replay the journal for a consumer."""

    @classmethod
    def at(cls, directory: Path, position: int) -> Shadow:
        """The state after record ``position``: a snapshot, then the records
        between it and ``position`` replayed without projecting them."""
        restored = State.restore(load_snapshot_at_or_before(directory, position), window=1)
        shadow = cls(restored.engine, restored.registry, restored.market, restored.sequence)
        tail = JournalTail(directory, shadow.sequence)
        while shadow.sequence < position:
            records = tail.read(REPLAY_BATCH, up_to=position)
            if not records:
                raise JournalGapError(
                    f"the store is at {position} but the journal ends at {shadow.sequence}"
                )
            shadow.replay(records)
        return shadow

    @classmethod
    def empty(cls) -> Shadow:
        restored = State.restore(None, window=1)
        return cls(restored.engine, restored.registry, restored.market, restored.sequence)


class RecordTail(Protocol):
    async def read(self, limit: int, up_to: int) -> list[Record]:
        """Up to ``limit`` records after the last one read, none above ``up_to``."""


class RecordSource(Protocol):
    name: str
    """Says where records come from, in messages."""

    async def shadow_at(self, position: int) -> Shadow:
        """The state after record ``position``."""

    def tail(self, after: int) -> RecordTail:
        """The records after sequence ``after``, as they come."""


class _FileTail:
    def __init__(self, directory: Path, after: int) -> None:
        self._tail = JournalTail(directory, after)

    async def read(self, limit: int, up_to: int) -> list[Record]:
        return self._tail.read(limit, up_to=up_to)


class JournalSource:
    name = "the journal"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def shadow_at(self, position: int) -> Shadow:
        # A big book is seconds of work: a worker thread, not the event loop.
        return await asyncio.to_thread(Shadow.at, self.directory, position)

    def tail(self, after: int) -> RecordTail:
        return _FileTail(self.directory, after)


class LogTail:
    """The log's records after ``after``, each checked to follow the last."""

    def __init__(self, log: CommittedLog, after: int) -> None:
        self._log = log
        self.last = after

    async def read(self, limit: int, up_to: int) -> list[Record]:
        wanted = min(limit, up_to - self.last)
        if wanted <= 0:
            return []
        records = await self._log.read(self.last, wanted)
        if records and records[0][0] != self.last + 1:
            raise LogError(
                f"the log has no record {self.last + 1}: it starts at {records[0][0]} (it was "
                f"trimmed past this consumer, whose store holds records up to {self.last}); "
                "rebuild this store from the journal's host, or from a log that keeps them"
            )
        for (before, _), (sequence, _) in itertools.pairwise(records):
            if sequence != before + 1:
                raise LogError(f"the log skips from record {before} to {sequence}")
        if records:
            self.last = records[-1][0]
        return records


class LogSource:
    name = "the committed log"

    def __init__(self, log: CommittedLog) -> None:
        self.log = log

    async def shadow_at(self, position: int) -> Shadow:
        shadow = Shadow.empty()
        tail = LogTail(self.log, 0)
        while shadow.sequence < position:
            records = await tail.read(REPLAY_BATCH, up_to=position)
            if not records:
                raise LogError(f"the store is at {position} but the log ends at {shadow.sequence}")
            await asyncio.to_thread(shadow.replay, records)
        return shadow

    def tail(self, after: int) -> RecordTail:
        return LogTail(self.log, after)


class LogPositions:
    """The log's last sequence, told to ``on_position`` as it grows: what
    the core's committed positions are to a consumer beside the journal."""

    def __init__(self, log: CommittedLog, on_position: Callable[[int], None]) -> None:
        self.log = log
        self.on_position = on_position
        self.last = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Learn the log's end (so a start can compare the store with it),
        waiting for a log that does not answer yet; then follow it."""
        self.last = await self._retried(self.log.last_sequence)
        self.on_position(self.last)
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            last = await self._retried(lambda: self.log.wait_beyond(self.last, WAIT_SECONDS))
            if last > self.last:
                self.last = last
                self.on_position(last)

    async def _retried(self, attempt: Callable[[], Awaitable[int]]) -> int:
        return await retried(attempt, _log_unavailable)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.log.close()


def _log_unavailable(error: Exception, delay: float) -> None:
    if delay == RETRY_FIRST:
        _log.warning("the committed log does not answer (%s: %s); retrying with backoff",
                     type(error).__name__, error)  # fmt: skip
