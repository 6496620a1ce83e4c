"""``stx serve``: the exchange process.

One asyncio loop (uvloop) runs the gRPC server and the sequencer. SIGTERM or
SIGINT stop it gracefully: no new calls, calls in progress drained, the
journal committed and a final snapshot written. SIGKILL loses nothing that
was acknowledged (recovery replays the journal).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import grpc
import uvloop
from aiohttp import web
from grpc_health.v1 import _async as health_aio  # the package exposes it as health.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from stocktraderx.v1 import (
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    reference_data_pb2,
    reference_data_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

from feeds.curve import CurveKeyError, ensure_server_keys
from feeds.publisher import FeedBindError, FeedPublisher
from server.auth.access import ADMIN, ROLES_BY_NAME
from server.auth.directory import TRADER, AuthRefusal, UserDirectory
from server.auth.interceptor import AuthInterceptor
from server.auth.keys import KeyRing
from server.auth.oidc import OidcSettings, OidcVerifier
from server.auth.tokens import TokenIssuer
from server.config import ConfigError, Settings
from server.consumers.projector import Projector, StoreAheadError
from server.consumers.surveillance.desk import AlertDesk
from server.core.clock import run_clock
from server.core.exchange import ExchangeCore, RecoveryError
from server.datadir import PRIVATE_UMASK, DataDirInUseError, lock_data_dir, prepare_data_dir
from server.gateways.grpc.intake import InputInterceptor
from server.gateways.grpc.market_data import MarketDataService
from server.gateways.grpc.orders import OrderService
from server.gateways.grpc.reference import ReferenceDataService
from server.gateways.grpc.risk import RiskService
from server.gateways.grpc.stream import BACKLOG_LIMIT
from server.gateways.grpc.users import UserService
from server.gateways.rest.bridge import RestBridge
from server.hsm.key_source import data_key_wrapper, open_key_ring
from server.hsm.token import HsmError
from server.journal import Durability, JournalCorruptError
from server.risk_setup import AccountSetup
from server.runtime import settle_heap
from server.secret_values import SecretError, database_url
from server.shared import EventBus, SharedState, open_shared
from server.simulator import simulator_launch
from server.store import Store, default_url, open_store
from server.store.data_key import open_cipher
from server.supervisor import SupervisedChild
from server.transport.credentials import TlsFileError
from server.transport.listen import (
    ListenError,
    bind_grpc,
    host_port,
    loopback_of,
    reason_of,
    zmq_endpoint,
)
from server.transport.security import ServerTls

_log = logging.getLogger("stx.serve")
GRACE_SECONDS = 5.0
PROJECTION_GRACE = 10.0
KEY_ROTATION_SECONDS = 7 * 24 * 3600


class Exchange:
    """A running exchange: the core plus its gRPC server."""

    def __init__(self, settings: Settings, stream_backlog: int = BACKLOG_LIMIT) -> None:
        self.settings = settings
        self.stream_backlog = stream_backlog
        self.core: ExchangeCore | None = None
        self.store: Store | None = None
        self.projector: Projector | None = None
        self.shared: SharedState | None = None
        self.bus: EventBus | None = None
        self.feed: FeedPublisher | None = None
        self.rest_port = 0
        self._rest: web.AppRunner | None = None
        self._rest_channel: grpc.aio.Channel | None = None
        self.tokens: TokenIssuer | None = None
        self.directory: UserDirectory | None = None
        self._rotation: asyncio.Task[None] | None = None
        self.accounts: AccountSetup | None = None
        self.alerts: AlertDesk | None = None
        self._clock: asyncio.Task[None] | None = None
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self._health = health_aio.HealthServicer()
        self.tls: ServerTls | None = None
        """The certificates in use; None when TLS is off."""
        self._renewal: asyncio.Task[None] | None = None

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
        self.feed = self._start_feed(self.core)
        assert self.shared is not None
        keys = open_key_ring(settings)
        _log.info("token signing keys: %s", keys.describe())
        self.tokens = TokenIssuer(keys, settings.token_issuer, settings.token_audience)
        self.directory = UserDirectory(store, self.shared, self.tokens)
        self.accounts = AccountSetup(self.core, settings.risk)
        self.accounts.configure()
        await self.accounts.sync(self.directory)
        await self._bootstrap_admin(self.directory)
        books = self.core.engine.books
        self.alerts = AlertDesk(
            store,
            self.accounts.owners.get,
            lambda symbol: books[symbol].instrument.tick_size if symbol in books else None,
        )
        self.core.sequencer.add_listener(self.alerts.listen)
        self.alerts.start()
        self._clock = asyncio.get_running_loop().create_task(run_clock(self.core))
        keys.rotate_if_due(KEY_ROTATION_SECONDS)
        self._rotation = asyncio.get_running_loop().create_task(self._rotate_keys(keys))
        if self.tls is not None:
            self._renewal = asyncio.get_running_loop().create_task(self.tls.renew_periodically())
        oidc = (
            OidcVerifier(
                OidcSettings(
                    settings.oidc_issuer,
                    settings.oidc_jwks_url,
                    settings.oidc_audience,
                    settings.oidc_roles_claim,
                )
            )
            if settings.oidc_issuer
            else None
        )
        interceptors: list[grpc.aio.ServerInterceptor] = []  # type: ignore[type-arg]
        if settings.auth_required:
            auth = AuthInterceptor(self.tokens, self.shared, oidc)
            await auth.start()
            interceptors.append(auth)
        interceptors.append(InputInterceptor())  # innermost: after the access rules
        # No SO_REUSEPORT (grpc's default): a second exchange on the same port
        # must fail to bind, not share the port and take half the clients.
        server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
        users_pb2_grpc.add_UserServiceServicer_to_server(UserService(self.directory), server)
        orders_pb2_grpc.add_OrderServiceServicer_to_server(
            OrderService(self.core, self.stream_backlog, store), server
        )
        reference_data_pb2_grpc.add_ReferenceDataServiceServicer_to_server(
            ReferenceDataService(self.core), server
        )
        market_data_pb2_grpc.add_MarketDataServiceServicer_to_server(
            MarketDataService(self.core, store), server
        )
        risk_pb2_grpc.add_RiskServiceServicer_to_server(
            RiskService(self.core, self.directory, self.alerts), server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        services = (
            orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name,
            reference_data_pb2.DESCRIPTOR.services_by_name["ReferenceDataService"].full_name,
            market_data_pb2.DESCRIPTOR.services_by_name["MarketDataService"].full_name,
            users_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
            risk_pb2.DESCRIPTOR.services_by_name["RiskService"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(services, server)
        self.port = bind_grpc(
            server, settings.listen_address, settings.grpc_port,
            self.tls.grpc_credentials if self.tls is not None else None,
        )  # fmt: skip
        await server.start()
        self.server = server
        await self._start_rest()
        for name in ("", *services[:5]):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
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
        url = database_url(self.settings.database_url or default_url(Path(self.settings.data_dir)))
        cipher = open_cipher(Path(self.settings.data_dir), wrapper=data_key_wrapper(self.settings))
        store = self.store = await open_store(url, cipher)
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
        return store

    async def _start_rest(self) -> None:
        """The REST bridge, calling this process's gRPC server like any client
        (over mutual TLS when TLS is on)."""
        settings = self.settings
        target = loopback_of(settings.listen_address, self.port)
        if self.tls is None:
            self._rest_channel = grpc.aio.insecure_channel(target)
        else:
            self._rest_channel = grpc.aio.secure_channel(target, self.tls.channel_credentials())
        bridge = RestBridge(self._rest_channel, origins=frozenset(settings.cors_origins))
        runner = web.AppRunner(bridge.app, access_log=None)
        await runner.setup()
        context = self.tls.https if self.tls is not None else None
        site = web.TCPSite(runner, settings.listen_address, settings.rest_port, ssl_context=context)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise ListenError(
                "rest_port", settings.listen_address, settings.rest_port, reason_of(error)
            ) from None
        self._rest = runner
        self.rest_port = runner.addresses[0][1]
        _log.info(
            "REST bridge on %s://%s",
            "http" if self.tls is None else "https",
            host_port(settings.listen_address, self.rest_port),
        )

    async def _rotate_keys(self, keys: KeyRing) -> None:
        """A new signing key every KEY_ROTATION_SECONDS; tokens of the old one
        stay valid until they expire, so rotation needs no downtime."""
        while True:
            await asyncio.sleep(3_600)
            if keys.rotate_if_due(KEY_ROTATION_SECONDS):
                _log.info("token signing key rotated; new key id %s", keys.signing.kid)

    async def _bootstrap_admin(self, directory: UserDirectory) -> None:
        """The first administrator of a container, from STX_ADMIN_USERNAME and
        STX_ADMIN_PASSWORD (created once; later starts leave it alone)."""
        username = os.environ.get("STX_ADMIN_USERNAME")
        password = os.environ.get("STX_ADMIN_PASSWORD")
        if not username or not password:
            return
        email = os.environ.get("STX_ADMIN_EMAIL", f"{username}@localhost.localdomain")
        names = os.environ.get("STX_ADMIN_ROLES", "admin").split(",")
        unknown = [name for name in names if name.strip() not in ROLES_BY_NAME]
        if unknown:
            raise ConfigError(f"STX_ADMIN_ROLES: unknown roles {unknown}")
        roles = tuple(ROLES_BY_NAME[name.strip()] for name in names)
        try:
            created = await directory.ensure_user(username, email, password, roles)
        except AuthRefusal as refusal:
            raise ConfigError(f"STX_ADMIN_USERNAME/STX_ADMIN_PASSWORD: {refusal}") from None
        if created:
            _log.info("administrator %s created", username)

    def _start_feed(self, core: ExchangeCore) -> FeedPublisher:
        settings = self.settings
        keys = None
        if settings.tls.feed_encrypted:
            keys = ensure_server_keys(Path(settings.data_dir) / "tls")
        publish = zmq_endpoint(settings.listen_address, settings.feed_port)
        snapshot = zmq_endpoint(settings.listen_address, settings.snapshot_port)
        try:
            feed = FeedPublisher.for_market(core.market, publish, snapshot, curve=keys)
        except FeedBindError as error:
            setting = "feed_port" if error.endpoint == publish else "snapshot_port"
            port = getattr(settings, setting)
            raise ListenError(setting, settings.listen_address, port, reason_of(error)) from None
        core.market_listeners.append(feed.publish)
        feed.start()
        _log.info(
            "market data on %s (snapshots on %s), %s",
            feed.publish_endpoint,
            feed.snapshot_endpoint,
            "plaintext" if keys is None else
            f"CurveZMQ: subscribers need the server key in {settings.data_dir}/tls/feed-server.pub",
        )  # fmt: skip
        return feed

    async def stop(self) -> None:
        for task in (self._rotation, self._clock, self._renewal):
            if task is not None:
                task.cancel()
        await self._health.enter_graceful_shutdown()
        if self._rest is not None:
            await self._rest.cleanup()
        if self._rest_channel is not None:
            await self._rest_channel.close(None)
        if self.server is not None:
            await self.server.stop(GRACE_SECONDS)
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


SIMULATOR_TOKEN = 30 * 24 * 3600
MARKET_MAKER = 3
DEMO_USERS = (
    ("demo", "market-open-0930", (TRADER,)),
    ("admin", "operations-desk-1600", (ADMIN, TRADER)),
)


async def _demo_users(directory: UserDirectory) -> None:
    """Known users for a demo (``make run``), printed so a newcomer can sign in."""
    for username, password, roles in DEMO_USERS:
        await directory.ensure_user(username, f"{username}@example.com", password, roles)
        _log.info("demo user %s, password %s: stx login --username %s", username, password,
                  username)  # fmt: skip


async def _start_simulator(exchange: Exchange) -> SupervisedChild:
    """``stx simulate`` in a child process, against this server over loopback
    gRPC: the market a newcomer sees (server/simulator.py). It trades for many
    accounts, so it signs with an administrator token minted here for each
    start, for as long as a demo runs."""
    tokens, directory, accounts = exchange.tokens, exchange.directory, exchange.accounts
    assert tokens is not None
    assert directory is not None
    assert accounts is not None
    await _demo_users(directory)
    await accounts.fund_demo(tuple(username.upper() for username, _, _ in DEMO_USERS))
    material = exchange.tls.material if exchange.tls is not None else None

    def mint_token() -> str:
        token, _ = tokens.issue("system:simulator", (ADMIN, MARKET_MAKER), lifetime=SIMULATOR_TOKEN)
        return token

    launch = simulator_launch(
        loopback_of(exchange.settings.listen_address, exchange.port),
        (material.ca, material.client_cert, material.client_key) if material is not None else None,
        mint_token,
    )
    simulation = SupervisedChild("simulator", launch, log=_log)
    simulation.start()
    return simulation


STARTUP_ERRORS = (ConfigError, SecretError, HsmError, ListenError, TlsFileError, CurveKeyError)
"""What ends a start with one line and exit code 2: the operator can fix it."""
REFUSED_STARTS = (DataDirInUseError, JournalCorruptError, RecoveryError, StoreAheadError)
"""What ends a start with one line and exit code 1: the data cannot be served as it is."""


async def serve(settings: Settings, simulate: bool = False) -> None:
    exchange = Exchange(settings)
    try:
        await exchange.start()
    except STARTUP_ERRORS + REFUSED_STARTS:
        await exchange.stop()  # what did start (journal, store) closes cleanly
        raise
    settle_heap()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    simulation: SupervisedChild | None = None
    try:
        if simulate:
            simulation = await _start_simulator(exchange)
        await stopping.wait()
        _log.info("stop requested")
    finally:
        if simulation is not None:
            await simulation.stop()
    await exchange.stop()


def run(settings: Settings, simulate: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.umask(PRIVATE_UMASK)  # everything created in the data directory is private
    try:
        prepare_data_dir(Path(settings.data_dir))
        lock_data_dir(Path(settings.data_dir))  # held until the process ends
        uvloop.run(serve(settings, simulate))
    except STARTUP_ERRORS as error:
        _log.critical("%s", error)
        raise SystemExit(2) from None
    except REFUSED_STARTS as error:
        _log.critical("cannot start: %s", error)
        raise SystemExit(1) from None
