"""The write-behind projector: the journal, replayed into the store.

It follows the journal on disk, not the live engine: a shadow engine and
order registry, restored from the newest snapshot at or before the store's
position and fed the journal's records from there, derive exactly the
events and execution reports the live server derived (the engine is
deterministic). So one path serves every case: catching up at start-up,
following live trading, and catching up again after the database was down;
matching never waits for the database, and memory stays bounded (one chunk
of records at a time; the rest waits on disk).

Each batch of rows is written in one transaction together with the new
position, so after any crash projection resumes exactly after the last
batch written: no gap, no duplicate. The journal keeps every segment the
projector still needs (``needed_from``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from feeds.wire import quote_message
from matching import Event, InstrumentAdded, TopOfBookChanged, Trade, TradingPhaseChanged
from server.consumers.following import JournalFollower
from server.consumers.retrying import RETRY_FIRST, retried
from server.consumers.sources import JournalSource, RecordSource, Shadow
from server.shared import EventBus, SharedState
from server.shared.events import bus_entries
from server.store import Store
from server.store.batch import AuditChain, BarBook, ProjectionBatch, add_command

_log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH_COMMANDS = 5_000
"""Commands per transaction: large enough for multi-row inserts to pay off,
small enough that one batch's rows stay a few megabytes."""
PACE_SECONDS = 0.25
"""How long the projector rests once it has everything committed (``JournalFollower``):
the store, the event bus and the shared quotes are at most this much later."""
REPORT_SECONDS = 10.0
"""How often the projector logs where it stands (never per batch)."""


class StoreAheadError(RuntimeError):
    """The store has projected records that the journal no longer holds."""


class Projector(JournalFollower):
    what = "projection"

    def __init__(
        self,
        store: Store,
        directory: Path,
        *,
        committed: Callable[[], int],
        batch_commands: int = BATCH_COMMANDS,
        bus: EventBus | None = None,
        shared: SharedState | None = None,
        count_events: Callable[[list[Event]], None] | None = None,
        source: RecordSource | None = None,
        pace: float = PACE_SECONDS,
    ) -> None:
        super().__init__(committed, batch_commands, pace)
        self.source = JournalSource(directory) if source is None else source
        """The journal files in ``directory``, or the committed log (another host)."""
        self.store = store
        self.count_events = count_events
        """Given each replayed command's events, on the replay's worker thread (the metrics)."""
        self.bus = bus
        self.shared = shared
        self.directory = directory
        self.projected_rows = 0
        self.failures = 0
        self._next_report = 0.0

    def needed_from(self) -> int:
        """The journal must keep every record after this one (and a snapshot at or before it)."""
        return self.position

    async def start(self) -> None:
        """Resume after the store's position; ``StoreAheadError`` if the store
        holds records the journal no longer has."""
        self.position = await self.store.position()
        journal_end = self._committed()
        if self.position > journal_end and not isinstance(self.source, JournalSource):
            raise StoreAheadError(
                f"the store holds records up to sequence {self.position}, but "
                f"{self.source.name} ends at {journal_end}: it is another exchange's, or it "
                "was started afresh; give this consumer an empty store"
            )
        if self.position > journal_end:
            # Following the journal from here would skip the records it will
            # write next under those numbers, and project them over rows from
            # another history: the store would silently diverge from it.
            raise StoreAheadError(
                f"the store holds records up to sequence {self.position}, but the journal ends "
                f"at {journal_end}: records {journal_end + 1}..{self.position} were removed from "
                "the journal (by `stx journal repair`, or it was restored from an older copy). "
                f"Restore the store from a backup taken at or before sequence {journal_end}, "
                "or restore the journal that matches it"
            )
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        shadow = await self.source.shadow_at(self.position)
        bars = BarBook([dict(row._mapping) for row in await self._retry(self.store.latest_bars)])
        chain = AuditChain(await self._retry(lambda: self.store.audit_hash(self.position)))
        tail = self.source.tail(shadow.sequence)
        writing: asyncio.Task[None] | None = None
        try:
            while True:
                records = await tail.read(self.batch_commands, up_to=self._committed())
                if not records:
                    await self.idle()
                    continue
                # The replay runs on a worker thread: a catch-up batch is tens
                # of milliseconds of Python, which must not stall the event loop.
                # It overlaps the previous batch's write (measured: 48k -> see
                # docs/performance.md); writes still happen strictly in order.
                batch = await asyncio.to_thread(
                    _project, shadow, records, bars, chain, self.count_events
                )
                if writing is not None:
                    await writing
                writing = asyncio.get_running_loop().create_task(self._commit(batch))
                await self.rest(len(records))
        finally:
            if writing is not None:
                writing.cancel()

    async def _commit(self, batch: ProjectionBatch) -> None:
        # The bus before the store: the store's position is where projection
        # resumes, so the bus is never behind it, and the bus drops what it
        # already has by entry id.
        if self.bus is not None or self.shared is not None:
            await self._retry(lambda: self._publish(batch))
        await self._write(batch)
        self.position = batch.last_sequence
        self.projected_rows += batch.events
        now = time.monotonic()
        if now >= self._next_report:
            self._next_report = now + REPORT_SECONDS
            _log.info(
                "store at sequence %d, %d behind the journal; %d rows written",
                self.position, self._committed() - self.position, self.projected_rows,
                extra={"sequence": self.position, "lag": self._committed() - self.position},
            )  # fmt: skip

    async def _publish(self, batch: ProjectionBatch) -> None:
        if self.bus is not None:
            for stream, entries in bus_entries(batch).items():
                await self.bus.publish(stream, entries)
        if self.shared is not None:
            await self.shared.put_quotes(batch.quotes)

    async def _write(self, batch: ProjectionBatch) -> None:
        """Write ``batch``, retrying with backoff while the database is away.

        After a failure the commit may have happened without the answer
        arriving: the position, written in the same transaction, tells."""
        uncertain = False

        async def attempt() -> None:
            nonlocal uncertain
            try:
                if not uncertain or await self.store.position() < batch.last_sequence:
                    await self.store.write(batch)
            except Exception:
                uncertain = True
                raise

        await retried(attempt, self._failed)
        if uncertain:
            _log.info("store back; projection resumes at %d", batch.last_sequence,
                      extra={"sequence": batch.last_sequence})  # fmt: skip

    async def _retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run a read until it succeeds, backing off while the database is away."""
        return await retried(attempt, self._failed)

    def _failed(self, error: Exception, delay: float) -> None:
        self.failures += 1
        if delay == RETRY_FIRST:
            _log.warning(
                "store unavailable (%s: %s); projection at %d retries with backoff",
                type(error).__name__, error, self.position,
                extra={"sequence": self.position},
            )  # fmt: skip


def _project(
    shadow: Shadow,
    records: list[tuple[int, bytes]],
    bars: BarBook,
    chain: AuditChain,
    count_events: Callable[[list[Event]], None] | None = None,
) -> ProjectionBatch:
    batch = ProjectionBatch()
    registry = shadow.registry
    quoted: set[str] = set()
    for sequence, payload in records:
        applied, reports, origin = shadow.step(sequence, payload)
        add_command(
            batch, sequence, applied.command, applied.client_order_id, payload,
            applied.events, reports, registry, shadow.engine, bars, shadow.market, chain, origin,
        )  # fmt: skip
        shadow.market.apply(sequence, applied.command, applied.events)
        if count_events is not None:
            count_events(applied.events)
        quoted.update(
            event.symbol  # type: ignore[union-attr]
            for event in applied.events
            if type(event) in _QUOTED
        )
    markets = shadow.market.markets
    batch.quotes = {
        symbol: quote_message(markets[symbol].quote()).SerializeToString() for symbol in quoted
    }
    return batch


_QUOTED = frozenset((TopOfBookChanged, Trade, TradingPhaseChanged, InstrumentAdded))
"""Events that change a symbol's level 1 quote."""
