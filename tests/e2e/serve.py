"""Starting ``stx serve`` as a subprocess for end-to-end tests.

Servers run as ``make run`` does, with TLS on and the feed encrypted; the
helpers here and ``client_environ`` give clients the local CA and feed key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stocktraderx.v1 import orders_pb2, orders_pb2_grpc, users_pb2, users_pb2_grpc

from clients.sdk import AsyncExchangeClient
from clients.transport import ClientTls
from clients.transport import channel as tls_channel
from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.store import STORE_FILE, AnalyticsStore
from server.processes.supervise import READY_LOG
from server.store import open_store
from tests.server.store.journal_check import check_store_matches_journal

STX = Path(sys.executable).with_name("stx")
ADMIN = "admin"
ADMIN_PASSWORD = "end-to-end operator password"
# Every server a test started; tests/e2e/conftest.py kills those still running
# after each test, so a failed assertion never leaves a server behind.
STARTED: list[subprocess.Popen[bytes]] = []
"""The first administrator every test server creates (STX_ADMIN_*)."""
TLS_OF_PORT: dict[int, Path] = {}
"""The TLS directory (``<data>/tls``) of each running test server, by gRPC port."""


def client_tls(port: int) -> ClientTls:
    """How a client reaches the test server on ``port``: its local CA, or
    plaintext for a server started with TLS off (or none at all)."""
    directory = TLS_OF_PORT.get(port)
    if directory is None:
        return ClientTls()
    return ClientTls(directory / "ca.pem", directory / "client.pem", directory / "client-key.pem")


def client_environ(port: int) -> dict[str, str]:
    """The environment of ``stx`` client commands for the server on ``port``."""
    directory = TLS_OF_PORT.get(port)
    if directory is None:
        return {"STX_PLAINTEXT": "1"}
    return {
        "STX_CA_FILE": str(directory / "ca.pem"),
        "STX_CLIENT_CERT": str(directory / "client.pem"),
        "STX_CLIENT_KEY": str(directory / "client-key.pem"),
        "STX_FEED_SERVER_KEY": str(directory / "feed-server.pub"),
    }


def channel(port: int) -> grpc.Channel:
    """A blocking channel to the test server on ``port``."""
    return tls_channel(f"127.0.0.1:{port}", client_tls(port))


def admin_token(port: int) -> str:
    """Sign in as the test server's administrator; the access token."""
    with channel(port) as channel_:
        answer = users_pb2_grpc.UserServiceStub(channel_).Login(
            users_pb2.LoginRequest(username=ADMIN, password=ADMIN_PASSWORD), timeout=10
        )
    token: str = answer.access_token
    return token


_GIVEN: set[int] = set()
"""Ports handed out by this test run: the kernel may offer a port again as
soon as its probe closes, and one server once got the same port for its
REST bridge and its feed."""


def free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def free_port_block(size: int = 9) -> int:
    """The first of ``size`` consecutive free ports: a metrics base and the
    roles' ports after it, up to analytics' offset 8 (``server/metrics/exposition.py``)."""
    while True:
        base = free_port()
        if base + size >= 65536:
            continue
        try:
            with contextlib.ExitStack() as probes:
                for offset in range(1, size):
                    probe = probes.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        if not _GIVEN.intersection(range(base + 1, base + size)):
            _GIVEN.update(range(base + 1, base + size))
            return base


def start_server(
    data: Path,
    port: int,
    database_url: str | None = None,
    feed_port: int | None = None,
    simulate: bool = False,
    tls: bool = True,
    rest_port: int | None = None,
    require_client_cert: bool = False,
    settings: Mapping[str, str] | None = None,
    metrics_port: int = 0,
    config: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``stx serve`` on ``port``; its store is ``database_url`` (SQLite in
    ``data`` if None); TLS on unless ``tls`` is False. Clients present the
    local CA's client certificate, so ``require_client_cert`` refuses only
    others. ``settings`` are more ``STX_*`` variables (``STX_LOG_FORMAT``);
    ``metrics_port`` is the base of the processes' metrics ports
    (``free_port_block``), 0 for none; ``config`` a TOML file instead of the demo's."""
    log = data.parent / "serve.log"
    environ = dict(os.environ)
    environ.pop("STX_DATABASE_URL", None)
    if database_url is not None:
        environ["STX_DATABASE_URL"] = database_url
    environ["STX_ADMIN_USERNAME"] = ADMIN
    environ["STX_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    environ["STX_ADMIN_ROLES"] = "admin,trader"  # may trade for every account
    environ["STX_REST_PORT"] = str(rest_port or free_port())
    environ["STX_FEED_PORT"] = str(feed_port or free_port())
    environ["STX_SNAPSHOT_PORT"] = str(feed_port + 1 if feed_port else free_port())
    environ["STX_METRICS_PORT"] = str(metrics_port)
    environ["STX_TLS_ENABLED"] = "true" if tls else "false"
    environ["STX_TLS_REQUIRE_CLIENT_CERT"] = "true" if require_client_cert else "false"
    environ.update(settings or {})
    if tls:
        TLS_OF_PORT[port] = data / "tls"
    else:
        TLS_OF_PORT.pop(port, None)
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as output:
        # A file, not a pipe: nobody reads a pipe while the test runs, and a
        # full one would block the server.
        process = subprocess.Popen(
            [str(STX), "serve", "--data-dir", str(data), "--grpc-port", str(port)]
            + (["--simulate"] if simulate else [])
            + (["--config", str(config)] if config is not None else []),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    try:
        _wait_until_serving(process, data, port, tls, log, offset)
    except BaseException:
        # Whatever stopped the wait (a timeout, a client error, ^C), the
        # server must not outlive the test that started it.
        process.kill()
        process.wait(10)
        raise
    STARTED.append(process)
    return process


@contextlib.contextmanager
def kept_for_the_module(server: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """``server`` (just started) shared by the tests of one module, for a
    module-scoped fixture: out of ``STARTED``, which tests/e2e/conftest.py
    empties after each test, and killed when the module is done (its data
    is thrown away with it). A start costs several seconds; tests that each
    work on accounts and symbols of their own need not pay it each."""
    STARTED.remove(server)
    try:
        yield server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)


def _wait_until_serving(
    process: subprocess.Popen[bytes], data: Path, port: int, tls: bool, log: Path, offset: int
) -> None:
    # Generous: eight processes import gRPC, DuckDB and the OpenTelemetry SDK
    # at once, and on a loaded two-core machine that took over 30 s.
    deadline = time.monotonic() + 120
    # The server makes its local CA, then its own and the client certificate;
    # each file appears whole (written aside, then renamed), but one by one.
    made = [data / "tls" / name for name in ("ca.pem", "client.pem", "client-key.pem")]
    while tls and not all(path.exists() for path in made) and time.monotonic() < deadline:
        time.sleep(0.1)
    checking = channel(port)
    health = health_pb2_grpc.HealthStub(checking)
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                time.sleep(0.1)
    finally:
        checking.close()
    # The gateway serves before the consumers and the REST bridge start.
    while time.monotonic() < deadline and process.poll() is None:
        if all_started(log, offset):
            return
        time.sleep(0.1)
    raise AssertionError(f"stx serve did not start: {log.read_text()}")


def all_started(log: Path, after: int = 0) -> bool:
    """Whether the supervisor logged that every process serves (past byte ``after``)."""
    return READY_LOG.encode() in log.read_bytes()[after:]


def prepare_accounts(port: int, token: str, *accounts: str) -> None:
    """Fund ``accounts`` and let them sell short through the public API, as an
    operator would before trading (the pre-trade risk controls stay on)."""

    async def prepare() -> None:
        async with AsyncExchangeClient(
            f"127.0.0.1:{port}", token=token, tls=client_tls(port)
        ) as client:
            for account in accounts:
                await client.prepare_account(account, 1_000_000_000_0000, "end-to-end test")

    asyncio.run(prepare())


def children_of(parent: int) -> list[tuple[int, list[bytes]]]:
    """The processes whose parent is ``parent``: pid and command line."""
    found: list[tuple[int, list[bytes]]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append((int(entry.name), argv))
    return found


def roles_of(supervisor: int) -> dict[str, int]:
    """The processes ``stx serve`` (process ``supervisor``) runs: role -> pid,
    as ``ps`` would list them (each child's command line names its role)."""
    return {
        argv[argv.index(b"serve") + 1].decode(): pid
        for pid, argv in children_of(supervisor)
        if b"serve" in argv
    }


def listed_client_order_ids(port: int, account: str = "") -> list[str]:
    """Every order ``ListOrders`` gives the administrator (of ``account``,
    or of all accounts), newest first, page after page."""
    token = admin_token(port)
    found: list[str] = []
    page = ""
    with channel(port) as opened:
        stub = orders_pb2_grpc.OrderServiceStub(opened)
        while True:
            answer = stub.ListOrders(
                orders_pb2.ListOrdersRequest(account_id=account, page_size=1000, page_token=page),
                metadata=(("authorization", f"Bearer {token}"),),
            )
            found.extend(order.client_order_id for order in answer.orders)
            page = answer.next_page_token
            if not page:
                return found


def check_analytics(data: Path) -> None:
    """The analytics store of the server in ``data`` holds exactly the facts
    a rebuild from its journal makes (the analytics process caught up)."""
    live = AnalyticsStore.open(data / STORE_FILE)
    rebuilt = AnalyticsStore.open(None)
    try:
        assert live.position() == rebuild(rebuilt, data, live.position()) > 0
        for table in ("order_events", "trades", "latencies"):
            query = f"SELECT * FROM {table} ORDER BY ALL"
            assert live.reader().execute(query).fetchall() == (
                rebuilt.reader().execute(query).fetchall()
            )
        # The gateway process's commands came with its time: latency rows, none negative
        # (gateway and core read the same host clock, the core after the gateway).
        count, earliest = live.reader().execute(
            "SELECT count(*), min(latency_nanos) FROM latencies"
        ).fetchone() or (0, None)
        assert count > 0
        assert earliest >= 0
    finally:
        live.close()
        rebuilt.close()


async def check_store(data: Path) -> None:
    """The embedded store of the server in ``data`` holds exactly what its
    journal does (the projector caught up)."""
    store = await open_store(f"sqlite:///{data / 'stx.db'}")
    try:
        await check_store_matches_journal(store, data)
    finally:
        await store.close()
