"""``stx serve`` with ``STX_LOG_FORMAT=json``: the combined output of the
supervisor and its roles is one JSON object a line, no secret in it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import grpc
import pytest
from stocktraderx.v1 import risk_pb2, risk_pb2_grpc, users_pb2, users_pb2_grpc

from tests.e2e.serve import ADMIN, ADMIN_PASSWORD, admin_token, channel, free_port, start_server

ROLES = {
    "supervisor", "core", "gateway", "projector", "surveillance", "analytics", "feed", "rest",
}  # fmt: skip


def test_every_line_is_json_with_its_role(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    server = start_server(data, port, settings={"STX_LOG_FORMAT": "json"})
    token = admin_token(port)
    with channel(port) as open_channel:
        with pytest.raises(grpc.RpcError):  # an authentication failure, logged
            users_pb2_grpc.UserServiceStub(open_channel).Login(
                users_pb2.LoginRequest(username=ADMIN, password="wrong password"), timeout=10
            )
        risk_pb2_grpc.RiskServiceStub(open_channel).ActivateKillSwitch(
            risk_pb2.ActivateKillSwitchRequest(account_id="LOGS1", reason="test"),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=10,
        )
    server.send_signal(signal.SIGINT)
    assert server.wait(60) == 0
    text = (tmp_path / "serve.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # each one object, or it raises
    assert all(isinstance(line, dict) for line in lines)
    assert {line["role"] for line in lines} == ROLES
    for line in lines:
        assert {"time", "level", "logger", "message", "role", "pid"} <= set(line), line
    recovered = [line["sequence"] for line in lines if line["message"].startswith("core on")]
    assert recovered == [0]
    kill = [line for line in lines if line["message"].startswith("kill switch on")]
    assert [(line["role"], line["account_id"]) for line in kill] == [("gateway", "LOGS1")]
    failed = [line for line in lines if line.get("auth_event") == "login_failed"]
    assert [line["username"] for line in failed] == [ADMIN]
    assert ADMIN_PASSWORD not in text
    assert token not in text
