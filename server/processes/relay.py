"""``stx serve relay``: the committed journal, published to the committed log.

Like the projector it reads the journal files itself and takes from the core
only the committed positions, which wake it and bound what it reads
(``server/consumers/relay.py``); the core never waits for it. Its position
(the log's last record) goes to ``relay.position``, so the core's pruning
keeps every record it has still to send. ``stx serve`` runs it only when
``[relay] url`` (or ``STX_RELAY_URL``) names a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from prometheus_client.registry import REGISTRY

from server.committed.log import CommittedLog
from server.committed.open import open_log
from server.config import ConfigError, Settings
from server.consumers.relay import Relay
from server.link.client import CoreClient
from server.metrics.relay import RelayLag
from server.processes.link import follow_positions
from server.processes.position import RELAY_POSITION_FILE, PositionFile
from server.secret_values import redact_url

_log = logging.getLogger("stx.relay")
CATCH_UP_GRACE = 10.0
"""How long a stop waits for the log to catch up before leaving it behind."""
POSITION_SECONDS = 0.5


class RelayProcess:
    def __init__(self, settings: Settings) -> None:
        if not settings.relay.url:
            raise ConfigError("the relay needs a log: set [relay] url or STX_RELAY_URL")
        self.settings = settings
        self.committed = 0
        """The last sequence the core committed, as the link reports it."""
        self.log: CommittedLog | None = None
        self.relay: Relay | None = None
        self.client: CoreClient | None = None
        self._positions = PositionFile(Path(settings.data_dir), RELAY_POSITION_FILE)
        self._writer: asyncio.Task[None] | None = None
        self._lag: RelayLag | None = None

    def _committed(self, sequence: int) -> None:
        self.committed = max(self.committed, sequence)
        if self._lag is not None:
            self._lag.committed_to(sequence)
        if self.relay is not None:
            self.relay.notify()

    async def start(self) -> None:
        directory = Path(self.settings.data_dir)
        log = self.log = open_log(self.settings.relay.url)
        if not self._positions.path.exists():
            # Nothing is pruned until the relay has said where the log ends.
            self._positions.write(0)
        self.client = await follow_positions(directory, self._committed, "relay")
        relay = self.relay = Relay(
            log, directory, committed=lambda: self.committed,
            batch_records=self.settings.relay.batch,
        )  # fmt: skip
        await relay.start()  # LogError: the start is refused
        if relay.resumed:
            self._positions.write(relay.position)
        if self.settings.metrics_port:
            self._lag = RelayLag(
                lambda: relay.position, lambda: relay.sent, lambda: relay.failures,
                lambda: relay.following,
            )  # fmt: skip
            self._lag.committed_to(self.committed)
            REGISTRY.register(self._lag)
        self._writer = asyncio.get_running_loop().create_task(self._keep_position())
        _log.info("relaying the journal to %s from sequence %d",
                  redact_url(self.settings.relay.url), relay.position)  # fmt: skip

    async def _keep_position(self) -> None:
        assert self.relay is not None  # started before this task
        written = self.relay.position
        while True:
            await asyncio.sleep(POSITION_SECONDS)
            if self.relay.position != written:
                written = self.relay.position
                self._positions.write(written)

    async def stop(self) -> None:
        if self._lag is not None:
            REGISTRY.unregister(self._lag)
            self._lag = None
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        relay = self.relay
        if relay is not None:
            try:
                await relay.caught_up(self.committed, CATCH_UP_GRACE)
            except Exception:  # a timeout, or relaying failed (logged when it did)
                _log.warning("log left at sequence %d; the relay resumes there at the next "
                             "start", relay.position)  # fmt: skip
            await relay.stop()
            self._positions.write(relay.position)
        if self.client is not None:
            await self.client.stop()
        if self.log is not None:
            await self.log.close()
        _log.info("relay stopped")
