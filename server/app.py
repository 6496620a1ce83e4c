"""The whole exchange in one process: the harness of the in-process tests.

``stx serve`` runs the exchange as processes (``server/processes``); this
composes the same pieces on one event loop (the core, the store projector,
the feed, surveillance, the gRPC services and the REST bridge), so a test can
drive the complete API without starting processes. It is built from the
processes' own parts (``server/processes``: the gRPC server, sign-in, the
feed, the REST bridge), so both serve the same API.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import _async as health_aio  # the package exposes it as health.aio

from feeds.publisher import FeedPublisher
from server.auth.directory import UserDirectory
from server.auth.tokens import TokenIssuer
from server.config import Settings
from server.consumers.analytics.follower import AnalyticsFollower
from server.consumers.analytics.serving import serve_reports
from server.consumers.analytics.store import STORE_FILE, AnalyticsStore
from server.consumers.projector import Projector
from server.consumers.surveillance.desk import AlertDesk
from server.core.clock import run_clock
from server.core.exchange import ExchangeCore
from server.gateways.grpc.stream import BACKLOG_LIMIT
from server.hsm.key_source import open_key_ring
from server.journal import Durability
from server.metrics.entry_history import EntryHistory
from server.processes.identity import (
    KEY_ROTATION_SECONDS,
    bootstrap_admin,
    rotate_keys,
    start_simulator,
)
from server.processes.market_feed import open_feed
from server.processes.projector import PROJECTION_GRACE
from server.processes.rest import start_bridge
from server.processes.services import DRAIN_SECONDS, Backing, grpc_server, report_serving
from server.processes.stores import open_configured_store
from server.risk_setup import AccountSetup
from server.shared import EventBus, SharedState, open_shared
from server.store import Store
from server.supervisor import SupervisedChild
from server.transport.listen import host_port, loopback_of
from server.transport.security import ServerTls

_log = logging.getLogger("stx.serve")


class Exchange:
    """A running exchange in this process: the core plus its gRPC server."""

    def __init__(self, settings: Settings, stream_backlog: int = BACKLOG_LIMIT) -> None:
        self.settings = settings
        self.stream_backlog = stream_backlog
        self.core: ExchangeCore | None = None
        self.store: Store | None = None
        self.projector: Projector | None = None
        self.analytics: AnalyticsFollower | None = None
        self._reports: grpc.aio.Server | None = None
        self.shared: SharedState | None = None
        self.bus: EventBus | None = None
        self.feed: FeedPublisher | None = None
        self.rest_port = 0
        self._rest: web.AppRunner | None = None
        self._rest_channel: grpc.aio.Channel | None = None
        self.tokens: TokenIssuer | None = None
        self.directory: UserDirectory | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.accounts: AccountSetup | None = None
        self.alerts: AlertDesk | None = None
        self.entries: EntryHistory | None = None
        """The gateway's order entry per interval (GetOrderEntryStatistics)."""
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self._health = health_aio.HealthServicer()
        self.tls: ServerTls | None = None
        """The certificates in use; None when TLS is off."""

    async def start(self) -> None:
        settings = self.settings
        if settings.tls.enabled:
            self.tls = ServerTls(settings.tls, Path(settings.data_dir))
        self.core = ExchangeCore.open(
            Path(settings.data_dir),
            settings.instruments,
            durability=Durability(settings.durability),
            fsync_interval=settings.fsync_interval_ms / 1000,
            snapshot_every=settings.snapshot_every,
        )
        await self.core.start()
        await self.core.sequencer.durable()
        store = await self._start_store(self.core)
        market = self.core.market
        self.feed = open_feed(settings, lambda: market)
        self.core.market_listeners.append(self.feed.publish)
        assert self.shared is not None
        keys = open_key_ring(settings)
        _log.info("token signing keys: %s", keys.describe())
        self.tokens = TokenIssuer(keys, settings.token_issuer, settings.token_audience)
        self.directory = UserDirectory(store, self.shared, self.tokens)
        self.accounts = AccountSetup(self.core, settings.risk)
        self.accounts.configure()
        await self.accounts.sync(self.directory)
        await bootstrap_admin(self.directory)
        books = self.core.engine.books
        self.alerts = AlertDesk(
            store,
            self.accounts.owners.get,
            lambda symbol: books[symbol].instrument.tick_size if symbol in books else None,
        )
        self.core.sequencer.add_listener(self.alerts.listen)
        self.alerts.start()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(run_clock(self.core)))
        keys.rotate_if_due(KEY_ROTATION_SECONDS)
        self._tasks.append(loop.create_task(rotate_keys(keys)))
        if self.tls is not None:
            self._tasks.append(loop.create_task(self.tls.renew_periodically()))
        backing = Backing(self.core, store, self.directory, self.tokens, self.shared, self.alerts)
        self.entries = backing.entries
        self._tasks.append(loop.create_task(backing.entries.run()))
        self.server, self.port = await grpc_server(
            settings, backing, self.tls, self._health, self.stream_backlog
        )
        await self._start_rest()
        await report_serving(self._health)
        recovered = self.core.recovered
        _log.info(
            "serving gRPC on %s (%s); data in %s; recovered to sequence %d (%d replayed)",
            host_port(settings.listen_address, self.port),
            self.tls.describe() if self.tls is not None else "plaintext: TLS is off",
            settings.data_dir,
            recovered.last_sequence,
            recovered.replayed,
        )

    async def _start_store(self, core: ExchangeCore) -> Store:
        store = self.store = await open_configured_store(self.settings)
        self.shared, self.bus = await open_shared(self.settings.redis_url)
        sequencer = core.sequencer
        self.projector = Projector(
            store,
            Path(self.settings.data_dir),
            committed=lambda: sequencer.durable_sequence,
            bus=self.bus,
            shared=self.shared,
        )
        sequencer.add_listener(self.projector.notify)
        core.needed_from = self.projector.needed_from
        await self.projector.start()
        _log.info(
            "store: %s, projected to sequence %d; shared state: %s",
            store.backend, self.projector.position,
            "redis" if self.settings.redis_url else "in-process",
        )  # fmt: skip
        await self._start_analytics(core)
        return store

    async def _start_analytics(self, core: ExchangeCore) -> None:
        """The analytical store and its report server, as the analytics process runs them."""
        directory = Path(self.settings.data_dir)
        store = await asyncio.to_thread(AnalyticsStore.open_current, directory / STORE_FILE)
        sequencer = core.sequencer
        self.analytics = AnalyticsFollower(
            store, directory, committed=lambda: sequencer.durable_sequence
        )
        sequencer.add_listener(self.analytics.notify)
        projector, follower = self.projector, self.analytics
        assert projector is not None  # started first
        core.needed_from = lambda: min(projector.needed_from(), follower.position)
        await self.analytics.start()
        self._reports = await serve_reports(store, directory, self.settings.fee_bps)

    async def _start_rest(self) -> None:
        """The REST bridge, calling this process's gRPC server like any client
        (over mutual TLS when TLS is on)."""
        target = loopback_of(self.settings.listen_address, self.port)
        if self.tls is None:
            self._rest_channel = grpc.aio.insecure_channel(target)
        else:
            self._rest_channel = grpc.aio.secure_channel(target, self.tls.channel_credentials())
        https = self.tls.https if self.tls is not None else None
        self._rest, self.rest_port = await start_bridge(self.settings, self._rest_channel, https)

    async def start_simulator(self) -> SupervisedChild:
        """``stx simulate`` against this exchange, as ``stx serve --simulate`` runs it."""
        assert self.tokens is not None
        assert self.directory is not None
        assert self.accounts is not None
        target = loopback_of(self.settings.listen_address, self.port)
        return await start_simulator(target, self.tokens, self.directory, self.accounts, self.tls)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self._health.enter_graceful_shutdown()
        if self._rest is not None:
            await self._rest.cleanup()
        if self._rest_channel is not None:
            await self._rest_channel.close(None)
        if self.server is not None:
            await self.server.stop(DRAIN_SECONDS)
        if self.alerts is not None:
            await self.alerts.stop()
        if self.core is not None:
            await self.core.close(final_snapshot=True)
        if self.projector is not None and self.core is not None:
            # Leave the store complete if it can be done quickly; if not (the
            # database is away), the next start catches up from the journal.
            try:
                await self.projector.caught_up(self.core.sequencer.sequence, PROJECTION_GRACE)
            except TimeoutError:
                _log.warning("store left at sequence %d; it catches up at the next start",
                             self.projector.position)  # fmt: skip
            await self.projector.stop()
        if self._reports is not None:
            await self._reports.stop(None)
        if self.analytics is not None:
            await self.analytics.stop()
            self.analytics.store.close()
        if self.store is not None:
            await self.store.close()
        if self.tokens is not None:
            self.tokens.keys.close()
        for closing in (self.shared, self.bus):
            if closing is not None:
                await closing.close()
        if self.feed is not None:
            await self.feed.stop()
        _log.info("stopped cleanly")
