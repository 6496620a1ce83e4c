"""The relay: the committed journal, appended to the log in bounded batches.

It follows the journal files from the log's last record, as the projector
follows them from the store's position: it reads only what the core has
committed (the positions the link reports), never sits on the core's path,
and after any crash resumes after whatever the log holds, so no record is
sent twice and none is skipped (the log itself refuses both: ``log.py``).
While the log is unreachable it retries with backoff and the journal keeps
what it has still to send (its position file).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from server.committed.log import CommittedLog, LogError
from server.consumers.following import JournalFollower
from server.consumers.retrying import RETRY_FIRST, retried
from server.journal.tail import JournalTail

_log = logging.getLogger(__name__)

BATCH_RECORDS = 1_000
"""Records per append: one script call (one round trip, one atomic step);
a thousand records is ~100 kB, small enough not to stall Redis for others."""


class Relay(JournalFollower):
    what = "relay"

    def __init__(
        self,
        log: CommittedLog,
        directory: Path,
        *,
        committed: Callable[[], int],
        batch_records: int = BATCH_RECORDS,
    ) -> None:
        super().__init__(committed, batch_records)
        self.log = log
        self.directory = directory
        self.failures = 0
        self.sent = 0
        """Records this relay appended (not those the log already had)."""
        self.resumed = False
        """Whether ``position`` is the log's end, as the log said (else 0, unknown)."""

    @property
    def following(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Resume after the log's last record; ``LogError`` if the log holds
        records the journal has not committed (another exchange's log). A
        log out of reach does not stop the start (the exchange runs without
        it): following asks again, with backoff, before it sends anything."""
        try:
            last = await self.log.last_sequence()
        except Exception as error:  # the log's client raises its own types
            self._unavailable(error, RETRY_FIRST)
        else:
            self._resume(last)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._task.add_done_callback(_report_failure)

    def _resume(self, last: int) -> None:
        """Take the log's last sequence as the position, unless the journal has no such record."""
        journal_end = self._committed()
        if last > journal_end:
            raise LogError(
                f"the log holds records up to sequence {last}, but the journal ends at "
                f"{journal_end}: it is another exchange's log, or the journal was cut back "
                "(`stx journal repair`) after the relay sent them; give the relay a new stream"
            )
        self.position = last
        self.resumed = True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # A failure of its own was logged when it ended (_report_failure).
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        if not self.resumed:
            self._resume(await self._retried(self.log.last_sequence))
        tail = JournalTail(self.directory, self.position)
        while True:
            records = tail.read(self.batch_commands, up_to=self._committed())
            if not records:
                await self.idle()
                continue
            # After a failure the batch may have been applied without the
            # answer arriving: appending it again adds only what is missing.
            self.sent += await self._retried(functools.partial(self.log.append, records))
            self.position = records[-1][0]

    async def _retried(self, attempt: Callable[[], Awaitable[int]]) -> int:
        """Run ``attempt`` until the log answers, backing off while it is away."""
        return await retried(attempt, self._unavailable, final=(LogError,))

    def _unavailable(self, error: Exception, delay: float) -> None:
        self.failures += 1
        if delay == RETRY_FIRST:
            _log.warning(
                "log unavailable (%s: %s); relay at %d retries with backoff",
                type(error).__name__, error, self.position, extra={"sequence": self.position},
            )  # fmt: skip


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.critical("the relay stopped following the journal", exc_info=task.exception())
