"""``stx serve projector``: the journal, projected into the store.

The projector reads the journal files itself (``server/consumers/projector``);
from the core it takes only the committed positions (the link's positions-only
client), which wake it and bound what it may read. Its own position goes to
``projector.position`` for the core's pruning. At a stop it first catches up
with the last committed sequence it was told of, as the single process did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from prometheus_client.registry import REGISTRY

from server.config import Settings
from server.consumers.projector import Projector
from server.metrics.events import EventCounts
from server.metrics.projector import ProjectorLag
from server.processes.position import PositionFile
from server.processes.sourcing import Positions, record_source
from server.processes.stores import open_configured_store
from server.shared import EventBus, SharedState, open_shared
from server.store import Store

_log = logging.getLogger("stx.projector")
PROJECTION_GRACE = 10.0
"""How long a stop waits for the store to catch up before leaving it behind."""
POSITION_SECONDS = 0.5
"""How often the position file is brought up to date."""


class ProjectorProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.committed = 0
        """The last sequence the core committed, as the link reports it."""
        self.store: Store | None = None
        self.shared: SharedState | None = None
        self.bus: EventBus | None = None
        self.projector: Projector | None = None
        self.client: Positions | None = None
        self._positions = PositionFile(Path(settings.data_dir))
        self._writer: asyncio.Task[None] | None = None
        self._lag: ProjectorLag | None = None
        self._events: EventCounts | None = None

    def _committed(self, sequence: int) -> None:
        self.committed = max(self.committed, sequence)
        if self._lag is not None:
            self._lag.committed_to(sequence)
        if self.projector is not None:
            self.projector.notify()

    async def start(self) -> None:
        settings = self.settings
        directory = Path(settings.data_dir)
        store = self.store = await open_configured_store(settings)
        self.shared, self.bus = await open_shared(settings.redis_url)
        source, self.client = await record_source(settings, self._committed, "projector")
        if settings.metrics_port:
            self._events = EventCounts()
            REGISTRY.register(self._events)
        self.projector = Projector(
            store, directory, committed=lambda: self.committed, bus=self.bus,
            shared=self.shared, count_events=self._events, source=source,
        )  # fmt: skip
        await self.projector.start()  # StoreAheadError: the start is refused
        if settings.metrics_port:
            projector = self.projector
            self._lag = ProjectorLag(
                lambda: projector.position, lambda: projector.failures, store.backend
            )
            self._lag.committed_to(self.committed)
            REGISTRY.register(self._lag)
        self._positions.write(self.projector.position)
        self._writer = asyncio.get_running_loop().create_task(self._keep_position())
        _log.info(
            "store: %s, projected to sequence %d; shared state: %s",
            store.backend, self.projector.position,
            "redis" if settings.redis_url else "in-process",
        )  # fmt: skip

    async def _keep_position(self) -> None:
        assert self.projector is not None  # started before this task
        written = self.projector.position
        while True:
            await asyncio.sleep(POSITION_SECONDS)
            if self.projector.position != written:
                written = self.projector.position
                self._positions.write(written)

    async def stop(self) -> None:
        for collector in (self._lag, self._events):
            if collector is not None:
                REGISTRY.unregister(collector)
        self._lag = self._events = None
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        projector = self.projector
        if projector is not None:
            # Leave the store complete if it can be done quickly; if not (the
            # database is away), the next start catches up from the journal.
            try:
                await projector.caught_up(self.committed, PROJECTION_GRACE)
            except TimeoutError:
                _log.warning("store left at sequence %d; it catches up at the next start",
                             projector.position)  # fmt: skip
            await projector.stop()
            self._positions.write(projector.position)
        if self.client is not None:
            await self.client.stop()
        if self.store is not None:
            await self.store.close()
        for closing in (self.shared, self.bus):
            if closing is not None:
                await closing.close()
        _log.info("projector stopped")
