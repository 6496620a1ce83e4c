"""``stx serve standby --primary HOST:PORT``: a hot standby core on a data directory of its own.

It follows the primary's journal live (``server/replication/standby.py``)
and serves nothing else yet: taking over when the primary dies is the
failover step (decision 0010). A state that diverges from the primary's
ends the process with exit code 1 and one critical line.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from prometheus_client.registry import REGISTRY

from server.config import ConfigError, Settings
from server.journal import Durability
from server.metrics.replication import ReplicationLag
from server.processes.failures import REFUSED_EXIT
from server.replication.settings import ReplicationConfigError, parse_address
from server.replication.standby import Standby

_log = logging.getLogger("stx.standby")


class StandbyProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.standby: Standby | None = None
        self._metrics: ReplicationLag | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings = self.settings
        if not settings.replication.primary:
            raise ConfigError("the standby needs the primary's address: --primary HOST:PORT")
        try:
            primary = parse_address(settings.replication.primary, "--primary")
        except ReplicationConfigError as error:
            raise ConfigError(str(error)) from None
        directory = Path(settings.data_dir)
        standby = self.standby = await asyncio.to_thread(
            Standby,
            directory,
            primary,
            name=f"standby-{os.getpid()}",
            durability=Durability(settings.durability),
            fsync_interval=settings.fsync_interval_ms / 1000,
            snapshot_every=settings.snapshot_every,
        )
        await standby.start()
        if settings.metrics_port:
            self._metrics = ReplicationLag(standby.lag)
            REGISTRY.register(self._metrics)
        self._watch = asyncio.get_running_loop().create_task(self._stop_on_divergence())
        _log.info("standby of %s at sequence %d", settings.replication.primary, standby.sequence)

    async def _stop_on_divergence(self) -> None:
        assert self.standby is not None
        try:
            await self.standby.task
        except asyncio.CancelledError:
            return
        except Exception as error:
            _log.critical("standby stopped: %s", error)
        # Its state cannot be trusted any more: end the process, non-zero,
        # with what the journal acknowledged closed properly first.
        await self.standby.stop()
        os._exit(REFUSED_EXIT)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._metrics is not None:
            REGISTRY.unregister(self._metrics)
            self._metrics = None
        if self.standby is not None:
            await self.standby.stop()
            _log.info("standby stopped at sequence %d", self.standby.durable)
