"""Two gateway processes on one data directory accept each other's tokens.

As two gateway pods behind one Service do (the chart's HPA): the second
gateway starts when the signing key is due for rotation and rotates it; the
first, already running, must accept what the second signs, and the reverse.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from server.processes.identity import KEY_ROTATION_SECONDS
from tests.e2e.serve import ADMIN, ADMIN_PASSWORD, STARTED, STX, free_port


def _serve(role: str, data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``stx serve ROLE`` by itself, plaintext, as its own container would run."""
    environ = {
        **os.environ,
        "STX_TLS_ENABLED": "false",
        "STX_ADMIN_USERNAME": ADMIN,
        "STX_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "STX_METRICS_PORT": "0",
    }
    environ.pop("STX_DATABASE_URL", None)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(STX), "serve", role, "--data-dir", str(data), "--grpc-port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, env=environ,
        )  # fmt: skip
    STARTED.append(process)
    return process


def _until(condition: Callable[[], bool], what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def _serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as opened:
        try:
            answer = health_pb2_grpc.HealthStub(opened).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def _users(port: int) -> tuple[grpc.Channel, users_pb2_grpc.UserServiceStub]:
    opened = grpc.insecure_channel(f"127.0.0.1:{port}")
    return opened, users_pb2_grpc.UserServiceStub(opened)


def _sign_in(port: int) -> str:
    opened, users = _users(port)
    with opened:
        answer = users.Login(users_pb2.LoginRequest(username=ADMIN, password=ADMIN_PASSWORD),
                             timeout=10)  # fmt: skip
    return str(answer.access_token)


def _who(port: int, token: str) -> str:
    opened, users = _users(port)
    with opened:
        answer = users.GetCurrentUser(
            users_pb2.GetCurrentUserRequest(),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=10,
        )
    return str(answer.user.username)


def _jwks(port: int) -> set[str]:
    opened, users = _users(port)
    with opened:
        return {key.kid for key in users.GetJwks(users_pb2.GetJwksRequest(), timeout=10).keys}


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


@pytest.mark.timeout(400)
def test_a_token_from_either_gateway_is_accepted_by_the_other(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "serve.log"
    first_port, second_port = free_port(), free_port()
    core = _serve("core", data, first_port, log)
    _until((data / "core.sock").exists, f"the core listens: {log.read_text()}")
    first = _serve("gateway", data, first_port, log)
    _until(partial(_serving, first_port), f"the first gateway serves: {log.read_text()}")
    original = _kid(_sign_in(first_port))
    # A week passes: the signing key on the volume is due for rotation, and
    # the second gateway, starting now, rotates it.
    index = data / "keys" / "keys.json"
    entries = json.loads(index.read_text())
    entries[-1]["created"] -= KEY_ROTATION_SECONDS + 60
    index.write_text(json.dumps(entries))
    second = _serve("gateway", data, second_port, log)
    _until(partial(_serving, second_port), f"the second gateway serves: {log.read_text()}")
    from_second = _sign_in(second_port)
    assert _kid(from_second) != original  # the second gateway rotated the key
    assert _who(first_port, from_second) == ADMIN
    time.sleep(1.1)  # the first gateway looks for a new key at most once a second
    from_first = _sign_in(first_port)
    assert _kid(from_first) == _kid(from_second)
    assert _who(second_port, from_first) == ADMIN
    assert _jwks(first_port) == _jwks(second_port) == {original, _kid(from_second)}
    for process in (second, first, core):
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    assert "Traceback" not in log.read_text()
