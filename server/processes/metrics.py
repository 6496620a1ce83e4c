"""Each role's ``/metrics`` endpoint, on ``metrics_port`` + the role's offset."""

from __future__ import annotations

import logging

from server.config import Settings
from server.metrics.exposition import GcPauses, MetricsServer, port_of
from server.transport.listen import ListenError, host_port, reason_of

_log = logging.getLogger("stx.metrics")


class RoleMetrics:
    """The endpoint and the GC pause timing of one role's process."""

    def __init__(self, role: str, settings: Settings) -> None:
        self.role = role
        self.settings = settings
        self.server = MetricsServer()
        self._gc = GcPauses()

    @property
    def enabled(self) -> bool:
        return port_of(self.role, self.settings.metrics_port) != 0

    async def start(self) -> None:
        """Listen (``ListenError`` if the port is taken); nothing when off."""
        if not self.enabled:
            return
        address = self.settings.listen_address
        port = port_of(self.role, self.settings.metrics_port)
        try:
            await self.server.start(address, port)
        except OSError as error:
            raise ListenError("metrics_port", address, port, reason_of(error)) from None
        self._gc.install()
        _log.info("metrics on http://%s/metrics", host_port(address, port))

    async def stop(self) -> None:
        self._gc.remove()
        await self.server.stop()
