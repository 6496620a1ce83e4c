"""``stx serve core``: the sequencer, the journal and the engine, nothing else.

It recovers the engine (snapshot plus journal), journals what the
configuration says about instruments and market controls, runs the trading
clock, writes snapshots and prunes the journal, and serves the link
(``<data dir>/core.sock``) that gateways submit commands over and every
other process follows. Pruning keeps what the store projector and the
analytics store (processes of their own) still need: their positions come
from ``projector.position`` and ``analytics.position``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from prometheus_client.registry import REGISTRY, Collector

from server.config import Settings
from server.core.clock import run_clock
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.link.listener import CoreLinkServer
from server.metrics.core import JOURNAL_COMMIT, QUEUE, CommandCounts, RiskState
from server.metrics.replication import ReplicationLag
from server.processes.link import serve_link
from server.processes.position import needed_from
from server.replication.primary import ReplicationServer, retain_from
from server.risk_setup import AccountSetup
from server.tracing.core_spans import CoreSpans
from server.tracing.provider import active as active_tracing

_log = logging.getLogger("stx.core")


class CoreProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.core: ExchangeCore | None = None
        self.link: CoreLinkServer | None = None
        self._clock: asyncio.Task[None] | None = None
        self._instruments: CoreInstruments | None = None
        self.replication: ReplicationServer | None = None

    async def start(self) -> None:
        settings = self.settings
        directory = Path(settings.data_dir)
        core = self.core = ExchangeCore.open(
            directory,
            settings.instruments,
            durability=Durability(settings.durability),
            fsync_interval=settings.fsync_interval_ms / 1000,
            snapshot_every=settings.snapshot_every,
        )
        await core.start()
        core.needed_from = lambda: needed_from(directory)
        AccountSetup(core, settings.risk).configure()
        await core.sequencer.durable()
        replication = settings.replication
        if replication.listen:
            self.replication = ReplicationServer(core, replication)
            await self.replication.start()
            gate = self.replication
            core.needed_from = lambda: retain_from(gate, needed_from(directory))
            _log.info(
                "replication on %s (%s mode)", replication.listen, replication.mode,
                extra={"sequence": core.sequencer.durable_sequence},
            )  # fmt: skip
        if self.replication is not None and self.replication.sync:
            self.link = await serve_link(core, self.replication, self.replication.refusal)
        else:
            self.link = await serve_link(core)
        if settings.metrics_port:
            self._instruments = CoreInstruments(core, self.link, self.replication)
            self._instruments.attach()
            self._instruments.register()
        tracing = active_tracing()
        if tracing is not None:
            spans = CoreSpans(tracing.tracer("stx.core"))
            self.link.trace_observer = spans.sequenced
            core.sequencer.add_listener(spans)
        self._clock = asyncio.get_running_loop().create_task(run_clock(core))
        recovered = core.recovered
        _log.info(
            "core on %s; recovered to sequence %d (%d replayed)",
            self.link.path, recovered.last_sequence, recovered.replayed,
            extra={"sequence": recovered.last_sequence},
        )  # fmt: skip

    async def stop(self) -> None:
        if self._instruments is not None:
            self._instruments.unregister()
            self._instruments = None
        if self._clock is not None:
            self._clock.cancel()
        if self.link is not None:
            await self.link.close()
        if self.replication is not None:
            await self.replication.close()
        if self.core is not None:
            await self.core.close(final_snapshot=True)
            _log.info("core stopped at sequence %d", self.core.sequencer.sequence)


class CoreInstruments:
    """The core's series: tallied per committed batch, observed per COMMANDS
    frame and per journal commit, and the risk state read at scrape time.
    ``attach`` and ``detach`` let the metrics cost benchmark compare one core
    with and without them."""

    def __init__(
        self, core: ExchangeCore, link: CoreLinkServer, replication: ReplicationServer | None = None
    ) -> None:
        self.core = core
        self.link = link
        self.counts = CommandCounts()
        self.collectors: list[Collector] = [
            self.counts,
            QUEUE,
            JOURNAL_COMMIT,
            RiskState(lambda: core.engine, lambda: link.dropped),
        ]
        if replication is not None:
            self.collectors.append(
                ReplicationLag(
                    replication.lag,
                    lambda: replication.in_step,
                    lambda: replication.degraded,
                    lambda: replication.refused,
                )
            )

    def attach(self) -> None:
        self.core.sequencer.add_listener(self.counts)
        self.core.sequencer.commit_observer = JOURNAL_COMMIT.observe
        self.link.queue_observer = QUEUE.observe

    def detach(self) -> None:
        self.core.sequencer.remove_listener(self.counts)
        self.core.sequencer.commit_observer = None
        self.link.queue_observer = None

    def register(self) -> None:
        for collector in self.collectors:
            REGISTRY.register(collector)

    def unregister(self) -> None:
        for collector in self.collectors:
            REGISTRY.unregister(collector)
