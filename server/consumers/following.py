"""What every consumer that follows the journal files shares.

The store projector and the analytics follower both read committed records
from disk at their own pace (they are never on the core's path). They keep
their position, wake when the core says new records are committed (or every
``IDLE_SECONDS`` when nobody says so: a consumer in another process polls),
and let a caller wait until they have caught up to a sequence.

A follower may also be paced: once a read has taken everything committed,
it rests ``pace`` seconds before reading again, so that each transaction
carries what a fraction of a second committed rather than one order. A
store write costs milliseconds whatever its size (the projector's
transaction, DuckDB's insert of six tables): at one order per batch that
cost was paid for every order. Someone waiting in ``caught_up`` cuts the
rest short.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

IDLE_SECONDS = 0.05
"""The longest a follower sleeps with nothing to read before looking again."""


class JournalFollower:
    what = "follower"
    """Names the consumer in the timeout of ``caught_up``."""

    def __init__(
        self, committed: Callable[[], int], batch_commands: int, pace: float = 0.0
    ) -> None:
        self._committed = committed
        """The last sequence the journal has committed: nothing beyond is read."""
        self.batch_commands = batch_commands
        self.pace = pace
        """Seconds to rest after a read that took everything committed."""
        self.position = 0
        """The last sequence this consumer has applied and stored."""
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self, _batch: object = None) -> None:
        """A sequencer listener: new records are committed."""
        self._wake.set()

    async def idle(self) -> None:
        """Wait for news of committed records, at most ``IDLE_SECONDS``."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), IDLE_SECONDS)

    async def rest(self, records: int) -> None:
        """After a read of ``records``: rest ``pace`` seconds if it took all
        that was committed (fewer than a full batch), unless someone waits."""
        if self.pace and records < self.batch_commands and not self._hurry.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), self.pace)
        self._hurry.clear()

    async def caught_up(self, sequence: int, timeout: float = 30.0) -> None:
        """Wait until this consumer's store holds everything up to ``sequence``;
        the following task's own failure is raised here rather than waited out."""
        deadline = time.monotonic() + timeout
        while self.position < sequence:
            if self._task is not None and self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.what} at {self.position}, waiting for {sequence}")
            self._wake.set()
            self._hurry.set()
            await asyncio.sleep(0.01)
