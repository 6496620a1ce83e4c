"""``stx serve`` as processes: seven roles, each restarted when killed, one
command to stop them all, and each role able to run alone.

Every test starts real ``stx serve`` subprocesses (tests/e2e/serve.py) and
looks at them from outside: ``/proc`` for the processes, gRPC for orders,
the data directory for the snapshot and the store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc, risk_pb2, risk_pb2_grpc

from server.processes.roles import NICENESS
from tests.e2e.serve import (
    STARTED,
    STX,
    admin_token,
    channel,
    check_analytics,
    check_store,
    children_of,
    free_port,
    listed_client_order_ids,
    prepare_accounts,
    roles_of,
    start_server,
)

ROLES = {"core", "gateway", "projector", "surveillance", "analytics", "feed", "rest"}
CONSUMERS = ("projector", "surveillance", "analytics", "feed", "rest")
ACCOUNTS = ("PROCA", "PROCB")


def _until(condition: Callable[[], bool], seconds: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _order(client_order_id: str, number: int) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id=ACCOUNTS[number % 2], client_order_id=client_order_id, symbol="AAPL",
        side=common_pb2.SIDE_BUY if number % 2 else common_pb2.SIDE_SELL,
        order_type=common_pb2.ORDER_TYPE_LIMIT, quantity=100,
        price=1_900_000 + (number % 5 - 2) * 100,
    )  # fmt: skip


def _signed_in(port: int) -> str:
    """The administrator's token, signing in again while a restarted gateway
    is not back yet."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return admin_token(port)
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _place_until_acknowledged(port: int, token: str, client_order_id: str, number: int) -> None:
    """Place one order, retrying (same client order id) while a restarted
    process is not back yet: a retry is safe, a duplicate is refused. Signed
    in by the caller, not for each try: a sign-in (Argon2) took 0.4 s, an
    order 0.01 s, and a sign-in for each of the core round's retries ran into
    the gateway's limit on sign-in attempts (RESOURCE_EXHAUSTED, retried for
    20 s and more)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with channel(port) as opened:
                answer = orders_pb2_grpc.OrderServiceStub(opened).PlaceOrder(
                    _order(client_order_id, number), metadata=_bearer(token),
                    timeout=10,
                )  # fmt: skip
            assert answer.order.client_order_id == client_order_id
            return
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.ALREADY_EXISTS:
                return  # an earlier try was applied and its answer lost
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """^C, as at a terminal: everything stops, exit code 0."""
    children = roles_of(server.pid)
    server.send_signal(signal.SIGINT)
    assert server.wait(90) == 0
    for pid in children.values():
        _until(partial(_ended, pid), 10, f"process {pid} ended")


def _ended(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def _replaced(supervisor: int, role: str, old: int) -> bool:
    """Whether ``role`` runs again, in a process other than ``old``."""
    return roles_of(supervisor).get(role, old) != old


@pytest.mark.timeout(400)
def test_every_process_killed_in_turn_is_restarted_and_orders_go_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port)
    log = tmp_path / "serve.log"
    roles = roles_of(server.pid)
    assert set(roles) == ROLES  # ps shows seven processes, each naming its role
    # The behind-by-design consumers stand back from the order path for the CPU.
    assert {role: os.getpriority(os.PRIO_PROCESS, pid) for role, pid in roles.items()} == {
        role: NICENESS.get(role, 0) for role in ROLES
    }
    prepare_accounts(port, admin_token(port), *ACCOUNTS)
    placed: list[str] = []
    killed = ("gateway", "projector", "analytics", "feed", "surveillance", "rest", "core")
    for round_, role in enumerate(killed):
        before = roles_of(server.pid)
        os.kill(before[role], signal.SIGKILL)
        _until(partial(_replaced, server.pid, role, before[role]), what=f"{role} restarted")
        assert f"{role} exited with code -9; restart 1 of 3" in log.read_text()
        token = _signed_in(port)  # once for each restart
        for index in range(5):
            client_order_id = f"{role}-{index}"
            _place_until_acknowledged(port, token, client_order_id, round_ * 5 + index)
            placed.append(client_order_id)
    assert server.poll() is None
    listed = listed_client_order_ids(port)
    assert set(placed) <= set(listed)
    assert len(listed) == len(set(listed))
    _stop(server)
    assert "stopped cleanly" in log.read_text()
    assert list(data.glob("snapshot-*.json"))  # the core's final snapshot
    asyncio.run(check_store(data))  # the projector caught up with the journal
    check_analytics(data)  # and the analytics store, killed and restarted, too


def _stream_reports(
    port: int,
    token: str,
    subscriptions: dict[str, int | None],
    orders: int,
    stop: threading.Event,
    until: frozenset[str] = frozenset(),
) -> tuple[set[str], dict[str, list[int]]]:
    """Stream ``orders`` orders (or none) with report subscriptions; the
    acknowledged client order ids and each account's report sequences seen,
    until ``stop`` is set, the stream breaks or (if given) every order of
    ``until`` is acknowledged."""
    acknowledged: set[str] = set()
    sequences: dict[str, list[int]] = {account: [] for account in subscriptions}

    def requests() -> Iterator[orders_pb2.OrderStreamRequest]:
        subscribe = [
            orders_pb2.ReportSubscription(account_id=account, after_report_sequence=after)
            if after is not None else orders_pb2.ReportSubscription(account_id=account)
            for account, after in subscriptions.items()
        ]  # fmt: skip
        yield orders_pb2.OrderStreamRequest(subscriptions=subscribe)
        for number in range(orders):
            if stop.is_set():
                return
            yield orders_pb2.OrderStreamRequest(
                commands=[orders_pb2.OrderCommand(place=_order(f"s{number}", number))]
            )
            time.sleep(0.005)
        stop.wait()

    streaming = channel(port)
    call = orders_pb2_grpc.OrderServiceStub(streaming).OrderStream(
        requests(), metadata=_bearer(token)
    )

    def cancel_when_stopped() -> None:
        stop.wait()
        call.cancel()  # type: ignore[no-untyped-call]  # grpc's stubs leave it untyped

    threading.Thread(target=cancel_when_stopped, daemon=True).start()
    try:
        for response in call:
            for report in response.reports:
                sequences[report.account_id].append(report.report_sequence)
                if report.exec_type == orders_pb2.EXEC_TYPE_NEW:
                    acknowledged.add(report.client_order_id)
            if until and until <= acknowledged:
                stop.set()
    except grpc.RpcError:
        pass
    streaming.close()
    return acknowledged, sequences


@pytest.mark.timeout(300)
def test_a_killed_core_loses_nothing_acknowledged_and_clients_resume_by_report_sequence(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port)
    log = tmp_path / "serve.log"
    prepare_accounts(port, admin_token(port), *ACCOUNTS)
    token = admin_token(port)
    stop = threading.Event()
    core = roles_of(server.pid)["core"]

    def kill_core() -> None:
        time.sleep(1.5)  # mid-stream: some orders acknowledged, more in flight
        os.kill(core, signal.SIGKILL)
        time.sleep(2.0)
        stop.set()

    threading.Thread(target=kill_core, daemon=True).start()
    acknowledged, seen = _stream_reports(port, token, dict.fromkeys(ACCOUNTS, 0), 100_000, stop)
    assert len(acknowledged) >= 20
    _until(partial(_replaced, server.pid, "core", core), what="core restarted")
    assert "core exited with code -9; restart 1 of 3" in log.read_text()
    for number in range(len(ACCOUNTS)):  # one more report for each account
        _place_until_acknowledged(port, token, f"after-restart-{number}", number)

    # Resume: every report after the last one seen, with no gap and no repeat,
    # up to those of the orders placed after the restart (the newest: the
    # stream ends there rather than after a fixed 5 s; 60 s at most).
    last = {account: max(seen[account], default=0) for account in ACCOUNTS}
    again = threading.Event()
    bound = threading.Timer(60, again.set)
    bound.daemon = True
    bound.start()
    after_restart = frozenset(f"after-restart-{number}" for number in range(len(ACCOUNTS)))
    resent, resumed = _stream_reports(
        port, admin_token(port), dict(last), 0, again, until=after_restart
    )
    bound.cancel()
    assert after_restart <= resent
    for account in ACCOUNTS:
        numbers = resumed[account]
        assert numbers, f"no report of {account} after {last[account]}"
        assert numbers == list(range(last[account] + 1, last[account] + 1 + len(numbers)))
    listed = listed_client_order_ids(port)
    assert acknowledged <= set(listed)
    assert len(listed) == len(set(listed))
    _stop(server)


def _serve_alone(
    role: str, data: Path, port: int, log: Path, ports: dict[str, int] | None = None
) -> subprocess.Popen[bytes]:
    """``stx serve ROLE`` by itself, plaintext; ``ports``: STX_* port settings."""
    environ = {
        **os.environ,
        "STX_TLS_ENABLED": "false",
        "STX_ADMIN_USERNAME": "admin",
        "STX_ADMIN_PASSWORD": "end-to-end operator password",
        "STX_ADMIN_ROLES": "admin,trader",
        "STX_FEED_PORT": str(free_port()),
        "STX_SNAPSHOT_PORT": str(free_port()),
        **{f"STX_{name.upper()}": str(number) for name, number in (ports or {}).items()},
    }
    environ.pop("STX_DATABASE_URL", None)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(STX), "serve", role, "--data-dir", str(data), "--grpc-port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, env=environ,
        )  # fmt: skip
    STARTED.append(process)
    return process


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as opened:
        try:
            answer = health_pb2_grpc.HealthStub(opened).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.mark.timeout(180)
def test_each_role_runs_as_a_separate_command(tmp_path: Path) -> None:
    """As one container per role would: ``stx serve core``, ``stx serve gateway``, ..."""
    data = tmp_path / "data"
    port = free_port()
    ports = {"rest_port": free_port(), "feed_port": free_port(), "snapshot_port": free_port()}
    log = tmp_path / "alone.log"
    core = _serve_alone("core", data, port, log)
    _until((data / "core.sock").exists, what=f"the core listens: {log.read_text()}")
    gateway = _serve_alone("gateway", data, port, log)
    _until(partial(_serving, port), what=f"the gateway serves: {log.read_text()}")
    others = {role: _serve_alone(role, data, port, log, ports) for role in CONSUMERS}
    token = admin_token(port)
    prepare_accounts(port, token, *ACCOUNTS)
    _place_until_acknowledged(port, token, "alone-1", 1)
    assert "alone-1" in listed_client_order_ids(port)
    _until(partial(_accepts, ports["rest_port"]), what=f"REST listens: {log.read_text()}")
    _until(partial(_accepts, ports["snapshot_port"]), what=f"the feed: {log.read_text()}")
    position = data / "projector.position"
    _until(position.exists, what=f"the projector projects: {log.read_text()}")
    # The analytics role listens for the gateway once it has started (its
    # imports take seconds on a busy machine; a SIGTERM before that kills it).
    reports = data / "analytics.sock"
    _until(reports.exists, what=f"the analytics process serves: {log.read_text()}")
    for process in (others["rest"], gateway, *others.values(), core):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    assert int(position.read_text()) > 0
    assert list(data.glob("snapshot-*.json"))
    assert "Traceback" not in log.read_text()


@pytest.mark.timeout(120)
def test_a_gateway_waiting_for_its_core_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    log = tmp_path / "alone.log"
    gateway = _serve_alone("gateway", data, free_port(), log)
    _until((data / "stx.db").exists, what=f"the gateway opened its store: {log.read_text()}")
    time.sleep(1.0)  # now waiting for core.sock, which no core serves
    assert gateway.poll() is None
    gateway.send_signal(signal.SIGTERM)
    assert gateway.wait(30) == 0
    text = log.read_text()
    assert "stop requested while starting" in text
    assert "Traceback" not in text


@pytest.mark.timeout(180)
def test_an_alert_raised_by_surveillance_is_streamed_by_the_gateway(tmp_path: Path) -> None:
    """Detectors run in the surveillance process; StreamAlerts is the gateway's."""
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port)
    token = admin_token(port)
    prepare_accounts(port, token, "WASH")
    alerts: list[risk_pb2.Alert] = []
    streaming = channel(port)
    call = risk_pb2_grpc.RiskServiceStub(streaming).StreamAlerts(
        risk_pb2.StreamAlertsRequest(account_id="WASH"), metadata=_bearer(token), timeout=60
    )

    def read() -> None:
        try:
            for message in call:
                if message.HasField("alert"):
                    alerts.append(message.alert)
                    return
        except grpc.RpcError:
            return  # the deadline: no alert came

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(1.0)  # the subscription is in place before the trade
    with channel(port) as opened:
        stub = orders_pb2_grpc.OrderServiceStub(opened)
        for side, client_order_id in ((common_pb2.SIDE_SELL, "w1"), (common_pb2.SIDE_BUY, "w2")):
            stub.PlaceOrder(
                orders_pb2.PlaceOrderRequest(
                    account_id="WASH", client_order_id=client_order_id, symbol="MSFT",
                    side=side, order_type=common_pb2.ORDER_TYPE_LIMIT, quantity=10,
                    price=4_200_000,
                ),
                metadata=_bearer(token), timeout=10,
            )  # fmt: skip
    reader.join(60)
    streaming.close()
    assert len(alerts) == 1, f"no alert streamed: {(tmp_path / 'serve.log').read_text()[-3000:]}"
    assert alerts[0].kind == risk_pb2.ALERT_KIND_WASH_TRADE
    assert alerts[0].symbol == "MSFT"
    _stop(server)


def _children_running(parent: int, word: bytes) -> list[int]:
    """Processes whose parent is ``parent`` and whose command line has ``word``."""
    return [pid for pid, argv in children_of(parent) if word in argv]


def test_the_simulator_dies_with_the_gateway_that_started_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port, simulate=True)
    gateway = roles_of(server.pid)["gateway"]
    _until(lambda: bool(_children_running(gateway, b"simulate")), what="the simulator running")
    (simulator,) = _children_running(gateway, b"simulate")
    os.kill(gateway, signal.SIGKILL)
    # Left running, it would trade beside the one the restarted gateway starts.
    _until(partial(_ended, simulator), 10, "the simulator ended with its gateway")
    _until(partial(_replaced, server.pid, "gateway", gateway), what="gateway restarted")
    restarted = roles_of(server.pid)["gateway"]
    _until(lambda: len(_children_running(restarted, b"simulate")) == 1, what="one new simulator")
    _stop(server)
