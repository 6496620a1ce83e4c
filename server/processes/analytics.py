"""``stx serve analytics``: the analytical store and its reports, off the core.

Like the projector it reads the journal files itself and takes from the core
only the committed positions, which wake it and bound what it reads
(``server/consumers/analytics/follower.py``). It owns the store's DuckDB file
(``analytics.duckdb`` in the data directory) and answers the reports on
``analytics.sock``, which the gateway forwards its ``AnalyticsService`` calls
to. Its position goes to ``analytics.position``, so the core's pruning keeps
every journal record it has still to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import grpc
from prometheus_client.registry import REGISTRY

from server.config import Settings
from server.consumers.analytics.follower import AnalyticsFollower
from server.consumers.analytics.serving import serve_reports
from server.consumers.analytics.store import STORE_FILE, AnalyticsStore
from server.metrics.analytics import AnalyticsLag
from server.processes.position import ANALYTICS_POSITION_FILE, PositionFile
from server.processes.sourcing import Positions, record_source

_log = logging.getLogger("stx.analytics")
CATCH_UP_GRACE = 10.0
"""How long a stop waits for the store to catch up before leaving it behind."""
POSITION_SECONDS = 0.5


class AnalyticsProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.committed = 0
        """The last sequence the core committed, as the link reports it."""
        self.store: AnalyticsStore | None = None
        self.follower: AnalyticsFollower | None = None
        self.client: Positions | None = None
        self.server: grpc.aio.Server | None = None
        directory = Path(settings.data_dir)
        self._positions = PositionFile(directory, ANALYTICS_POSITION_FILE)
        self._writer: asyncio.Task[None] | None = None
        self._lag: AnalyticsLag | None = None

    def _committed(self, sequence: int) -> None:
        self.committed = max(self.committed, sequence)
        if self._lag is not None:
            self._lag.committed_to(sequence)
        if self.follower is not None:
            self.follower.notify()

    async def start(self) -> None:
        directory = Path(self.settings.data_dir)
        store = self.store = await asyncio.to_thread(
            AnalyticsStore.open_current, directory / STORE_FILE
        )
        # Written before anything is read: from now on the core keeps what
        # this store still needs.
        self._positions.write(await asyncio.to_thread(store.position))
        source, self.client = await record_source(self.settings, self._committed, "analytics")
        self.follower = AnalyticsFollower(
            store, directory, committed=lambda: self.committed, source=source
        )
        await self.follower.start()  # StoreAheadError: the start is refused
        if self.settings.metrics_port:
            follower = self.follower
            self._lag = AnalyticsLag(lambda: follower.position, lambda: follower.following)
            self._lag.committed_to(self.committed)
            REGISTRY.register(self._lag)
        self.server = await serve_reports(store, directory, self.settings.fee_bps)
        self._writer = asyncio.get_running_loop().create_task(self._keep_position())
        _log.info("analytics store at sequence %d, reports on %s", self.follower.position,
                  directory / "analytics.sock")  # fmt: skip

    async def _keep_position(self) -> None:
        assert self.follower is not None  # started before this task
        written = self.follower.position
        while True:
            await asyncio.sleep(POSITION_SECONDS)
            if self.follower.position != written:
                written = self.follower.position
                self._positions.write(written)

    async def stop(self) -> None:
        if self._lag is not None:
            REGISTRY.unregister(self._lag)
            self._lag = None
        if self.server is not None:
            await self.server.stop(1.0)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        follower = self.follower
        if follower is not None:
            try:
                await follower.caught_up(self.committed, CATCH_UP_GRACE)
            except Exception:  # a timeout, or following failed (logged when it did)
                _log.warning("analytics store left at sequence %d; it catches up at the next "
                             "start", follower.position)  # fmt: skip
            await follower.stop()
            self._positions.write(follower.position)
        if self.client is not None:
            await self.client.stop()
        if self.store is not None:
            self.store.close()
        _log.info("analytics stopped")
