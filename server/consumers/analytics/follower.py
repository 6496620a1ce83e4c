"""The analytics consumer: the journal, replayed into the analytical store.

Like the store projector (``server/consumers/projector.py``, whose shadow
engine it reuses) it reads the journal files, not the live flow: a shadow
engine and order registry restored from the newest snapshot at or before the
store's position replay the records from there and derive exactly the events
and execution reports the live server derived. Each chunk of records becomes
one batch of facts written with its position, so it resumes exactly where
it stopped after any crash, and ``rebuild`` makes the whole store again from
the journal. It is behind the core by design and never on its path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from server.consumers.analytics.facts import Facts
from server.consumers.analytics.store import AnalyticsStore
from server.consumers.following import JournalFollower
from server.consumers.projector import StoreAheadError
from server.consumers.sources import JournalSource, RecordSource, Shadow
from server.journal.files import list_segments, list_snapshots
from server.journal.tail import JournalTail

_log = logging.getLogger(__name__)

BATCH_COMMANDS = 5_000
"""Commands per batch of facts (one Arrow table, one transaction) while
following: a live batch is rarely that full."""
REBUILD_BATCH_COMMANDS = 50_000
"""Commands per batch when rebuilding: fewer, larger transactions (about
100,000 rows, some 40 MB of row tuples; docs/performance.md, "Analytics
store")."""
PACE_SECONDS = 1.0
"""How long the follower rests once it has everything committed
(``JournalFollower``): the reports are at most this much behind the
journal, and each DuckDB transaction carries a second of trading."""


class AnalyticsFollower(JournalFollower):
    what = "analytics"

    def __init__(
        self,
        store: AnalyticsStore,
        directory: Path,
        *,
        committed: Callable[[], int],
        batch_commands: int = BATCH_COMMANDS,
        source: RecordSource | None = None,
        pace: float = PACE_SECONDS,
    ) -> None:
        super().__init__(committed, batch_commands, pace)
        self.store = store
        self.directory = directory
        self.source = JournalSource(directory) if source is None else source
        self._writing: asyncio.Future[bool] | None = None
        """The write in progress on a worker thread, which a cancel cannot stop."""

    @property
    def following(self) -> bool:
        """Started and not stopped by a failure (or a stop)."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Resume after the store's position; ``StoreAheadError`` if the store
        holds facts of records the journal no longer has."""
        self.position = await asyncio.to_thread(begin, self.store, self.directory)
        journal_end = self._committed()
        if self.position > journal_end:
            raise StoreAheadError(
                f"the analytics store holds records up to sequence {self.position}, but "
                f"{self.source.name} ends at {journal_end}: remove "
                f"{self.directory}/analytics.duckdb and it is rebuilt from {self.source.name}"
            )
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._task.add_done_callback(_report_failure)

    async def stop(self) -> None:
        """Stop following; a batch being written is finished first, so the
        store can be closed once this returns."""
        if self._task is not None:
            self._task.cancel()
            # A failure of its own was logged when it ended (_report_failure).
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
            self._writing = None
            self.position = await asyncio.to_thread(self.store.position)

    async def _run(self) -> None:
        shadow = await self.source.shadow_at(self.position)
        tail = self.source.tail(shadow.sequence)
        while True:
            records = await tail.read(self.batch_commands, up_to=self._committed())
            if not records:
                await self.idle()
                continue
            facts = await asyncio.to_thread(facts_of, shadow, records)
            self._writing = asyncio.ensure_future(asyncio.to_thread(self.store.write, facts))
            await asyncio.shield(self._writing)
            self._writing = None
            self.position = facts.last_sequence
            await self.rest(len(records))


def _report_failure(task: asyncio.Task[None]) -> None:
    # Following ends only by a stop (cancelled) or a bug: say which, at once,
    # rather than when someone next waits for the store to catch up.
    if not task.cancelled() and task.exception() is not None:
        _log.critical("the analytics store stopped following the journal",
                      exc_info=task.exception())  # fmt: skip


def begin(store: AnalyticsStore, directory: Path) -> int:
    """Where ``store`` resumes. A new store starts at the journal's first
    record; if the core has pruned the journal before this store ever ran
    (an exchange that ran without it), at the oldest snapshot, whose
    sequence becomes the store's position: earlier facts are not there."""
    position = store.position()
    segments = list_segments(directory)
    if position or not segments or segments[0][0] <= 1:
        return position
    snapshots = list_snapshots(directory)
    if not snapshots:
        return position  # nothing to start from: following reports the gap
    oldest = snapshots[0][0]
    _log.warning(
        "the journal starts at sequence %d: the analytics store holds facts from sequence %d "
        "on, none before", segments[0][0], oldest + 1,
    )  # fmt: skip
    store.write(Facts(last_sequence=oldest))
    return oldest


def facts_of(shadow: Shadow, records: list[tuple[int, bytes]]) -> Facts:
    """Replay ``records`` on ``shadow`` and collect their facts. The shadow's
    market data is left behind: no fact needs it, and keeping it (depth
    levels and checksums) was 40% of the replay (cProfile, 10,000 commands)."""
    facts = Facts()
    tops = {symbol: book.top for symbol, book in shadow.engine.books.items()}
    for sequence, payload in records:
        applied, reports, origin = shadow.step(sequence, payload)
        facts.add(sequence, applied.command, applied.events, reports, origin, tops)
    return facts


def rebuild(
    store: AnalyticsStore,
    directory: Path,
    up_to: int | None = None,
    batch: int = REBUILD_BATCH_COMMANDS,
) -> int:
    """Bring ``store`` up to journal sequence ``up_to`` (None: the journal's
    end) from wherever it stands (an empty store: from the journal's start);
    its new position. Each batch is written on a thread of its own while the
    next one is replayed: DuckDB inserts without holding the GIL, so on two
    cores its share of the work is hidden behind the replay. Batches are
    written strictly in order, each with its position, one at a time."""
    shadow = Shadow.at(directory, begin(store, directory))
    tail = JournalTail(directory, shadow.sequence)
    with ThreadPoolExecutor(1, thread_name_prefix="analytics-rebuild") as writer:
        writing: Future[bool] | None = None
        while up_to is None or shadow.sequence < up_to:
            records = tail.read(batch, up_to=up_to)
            if not records:
                break
            facts = facts_of(shadow, records)
            if writing is not None:
                writing.result()
            writing = writer.submit(store.write, facts)
        if writing is not None:
            writing.result()
    return store.position()
