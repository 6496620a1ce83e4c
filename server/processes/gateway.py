"""``stx serve gateway``: gRPC order entry in front of the core.

It keeps a replica of the engine (reference data, risk ledgers, books,
the order registry for reports) by following the core over the link, and
hands commands to the core through the replica's remote sequencer. It
holds what order entry needs and the core does not: sign-in and the users
(the store), protobuf, report encoding, and the streams of alerts raised by
the surveillance process (``alerts.AlertRelay``). Several gateways can feed
one core; each is its own gRPC port.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
from grpc_health.v1 import _async as health_aio  # the package exposes it as health.aio
from prometheus_client import REGISTRY

from server.auth.directory import UserDirectory
from server.auth.tokens import TokenIssuer
from server.config import Settings
from server.gateways.grpc.stream import BACKLOG_LIMIT
from server.hsm.key_source import open_key_ring
from server.link.client import CoreClient
from server.link.replica import Replica
from server.metrics.shared import StoreErrors
from server.processes.alerts import AlertRelay
from server.processes.identity import (
    KEY_ROTATION_SECONDS,
    bootstrap_admin,
    rotate_keys,
    start_simulator,
)
from server.processes.link import gateway_link
from server.processes.services import DRAIN_SECONDS, Backing, grpc_server, report_serving
from server.processes.stores import open_configured_store
from server.risk_setup import AccountSetup
from server.shared import EventBus, SharedState, open_shared
from server.store import Store
from server.supervisor import SupervisedChild
from server.tracing.provider import active as active_tracing
from server.transport.listen import host_port, loopback_of
from server.transport.security import ServerTls

_log = logging.getLogger("stx.gateway")


class GatewayProcess:
    def __init__(
        self, settings: Settings, simulate: bool = False, stream_backlog: int = BACKLOG_LIMIT
    ) -> None:
        self.settings = settings
        self.simulate = simulate
        self.stream_backlog = stream_backlog
        self.tls: ServerTls | None = None
        self.replica: Replica | None = None
        self.client: CoreClient | None = None
        self.store: Store | None = None
        self.shared: SharedState | None = None
        self.bus: EventBus | None = None
        self.tokens: TokenIssuer | None = None
        self.alerts: AlertRelay | None = None
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self._health = health_aio.HealthServicer()
        self._tasks: list[asyncio.Task[None]] = []
        self._simulation: SupervisedChild | None = None
        self._store_errors: StoreErrors | None = None

    async def start(self) -> None:
        settings = self.settings
        directory = Path(settings.data_dir)
        if settings.tls.enabled:
            self.tls = ServerTls(settings.tls, directory)
        store = self.store = await open_configured_store(settings)
        if settings.metrics_port:
            self._store_errors = StoreErrors(store.engine)
            REGISTRY.register(self._store_errors)
        self.shared, self.bus = await open_shared(settings.redis_url)
        self.replica, self.client = await gateway_link(directory)
        keys = open_key_ring(settings)
        _log.info("token signing keys: %s", keys.describe())
        self.tokens = TokenIssuer(keys, settings.token_issuer, settings.token_audience)
        users = UserDirectory(store, self.shared, self.tokens)
        accounts = AccountSetup(self.replica, settings.risk)
        await accounts.sync(users)
        await bootstrap_admin(users)
        self.alerts = AlertRelay(store)
        await self.alerts.begin()
        loop = asyncio.get_running_loop()
        keys.rotate_if_due(KEY_ROTATION_SECONDS)
        self._tasks.append(loop.create_task(rotate_keys(keys)))
        if self.tls is not None:
            self._tasks.append(loop.create_task(self.tls.renew_periodically()))
        backing = Backing(self.replica, store, users, self.tokens, self.shared, self.alerts)
        self._tasks.append(loop.create_task(backing.entries.run()))
        tracing = active_tracing()
        self.server, self.port = await grpc_server(
            settings, backing, self.tls, self._health, self.stream_backlog,
            tracing.tracer("stx.gateway") if tracing is not None else None,
        )  # fmt: skip
        await report_serving(self._health)
        target = loopback_of(settings.listen_address, self.port)
        if self.simulate:
            self._simulation = await start_simulator(target, self.tokens, users, accounts, self.tls)
        _log.info(
            "gateway serving gRPC on %s (%s) at sequence %d",
            host_port(settings.listen_address, self.port),
            self.tls.describe() if self.tls is not None else "plaintext: TLS is off",
            self.replica.sequence,
        )  # fmt: skip

    async def stop(self) -> None:
        if self._store_errors is not None:
            REGISTRY.unregister(self._store_errors)
            self._store_errors = None
        for task in self._tasks:
            task.cancel()
        if self._simulation is not None:
            await self._simulation.stop()
        await self._health.enter_graceful_shutdown()
        if self.server is not None:
            await self.server.stop(DRAIN_SECONDS)
        if self.alerts is not None:
            await self.alerts.stop()
        if self.client is not None:
            await self.client.stop()
        if self.store is not None:
            await self.store.close()
        if self.tokens is not None:
            self.tokens.keys.close()
        for closing in (self.shared, self.bus):
            if closing is not None:
                await closing.close()
        _log.info("gateway stopped")
