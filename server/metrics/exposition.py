"""The ``/metrics`` endpoint of one process, its port, and GC pause timing.

The endpoint runs on the process's own event loop (aiohttp), not in
prometheus-client's HTTP thread: collectors that read live state (the
engine's kill switches, the link's connections) then run between callbacks
and see it consistent, and no second thread competes for the GIL between
scrapes.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.exposition import choose_encoder

_log = logging.getLogger("stx.metrics")

LATENCY_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Seconds; the order path's latencies are sub-millisecond, its stalls seconds."""

OFFSETS = {
    "core": 1, "gateway": 2, "projector": 3, "surveillance": 4, "feed": 5, "rest": 6,
    "analytics": 8,
}  # fmt: skip
"""Each role's port is ``metrics_port`` + its offset (the catalogue's): the
roles ``stx serve`` always runs. Analytics came after the FIX gateway had 7."""


OPTIONAL_OFFSETS = {"fix": 7, "relay": 9}
"""Roles that run only when configured: the FIX gateway (``[fix.sessions]``)
and the relay (``[relay] url``). Whether a deployment runs one is its
values' choice (``fix.enabled``, ``relay.enabled`` in the Helm chart), not
this table's: docs/deploy.md says which the production values enable, and why."""

STANDBY_OFFSETS = {"standby": 1}
"""The standby runs on a host of its own, where it will take the core's place:
the core's offset."""


def port_of(role: str, base: int) -> int:
    """The role's metrics port, 0 (off) when ``base`` is 0 or the role has
    no port in the catalogue."""
    if not base:
        return 0
    if role in OFFSETS:
        return base + OFFSETS[role]
    offset = OPTIONAL_OFFSETS.get(role) or STANDBY_OFFSETS.get(role)
    return base + offset if offset else 0


GC_PAUSE = Histogram(
    "stx_gc_pause_seconds",
    "Garbage collector pauses, by generation.",
    ["generation"],
    buckets=LATENCY_BUCKETS,
)


class GcPauses:
    """Times each collection through ``gc.callbacks`` into ``stx_gc_pause_seconds``."""

    def __init__(self, histogram: Histogram = GC_PAUSE) -> None:
        self._by_generation = [histogram.labels(str(generation)) for generation in range(3)]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[info["generation"]].observe(time.perf_counter() - self._started)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)


class MetricsServer:
    """``GET /metrics`` of ``registry`` on ``address:port`` (0: any free port)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self, address: str, port: int) -> int:
        """Listen; the port bound. ``OSError`` if it is taken."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, address, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})
