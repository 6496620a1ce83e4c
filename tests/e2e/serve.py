"""Starting ``stx serve`` as a subprocess for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from clients.sdk import AsyncExchangeClient

STX = Path(sys.executable).with_name("stx")
ADMIN = "admin"
ADMIN_PASSWORD = "end-to-end operator password"
"""The first administrator every test server creates (STX_ADMIN_*)."""


def admin_token(port: int) -> str:
    """Sign in as the test server's administrator; the access token."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = users_pb2_grpc.UserServiceStub(channel).Login(
            users_pb2.LoginRequest(username=ADMIN, password=ADMIN_PASSWORD), timeout=10
        )
    token: str = answer.access_token
    return token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    data: Path,
    port: int,
    database_url: str | None = None,
    feed_port: int | None = None,
    simulate: bool = False,
) -> subprocess.Popen[bytes]:
    """``stx serve`` on ``port``; its store is ``database_url`` (SQLite in
    ``data`` if None)."""
    log = data.parent / "serve.log"
    environ = dict(os.environ)
    environ.pop("STX_DATABASE_URL", None)
    if database_url is not None:
        environ["STX_DATABASE_URL"] = database_url
    environ["STX_ADMIN_USERNAME"] = ADMIN
    environ["STX_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    environ["STX_ADMIN_ROLES"] = "admin,trader"  # may trade for every account
    environ["STX_REST_PORT"] = str(free_port())
    environ["STX_FEED_PORT"] = str(feed_port or free_port())
    environ["STX_SNAPSHOT_PORT"] = str(feed_port + 1 if feed_port else free_port())
    with log.open("ab") as output:
        # A file, not a pipe: nobody reads a pipe while the test runs, and a
        # full one would block the server.
        process = subprocess.Popen(
            [str(STX), "serve", "--data-dir", str(data), "--grpc-port", str(port)]
            + (["--simulate"] if simulate else []),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return process
            except grpc.RpcError:
                time.sleep(0.1)
    finally:
        channel.close()
    process.kill()
    raise AssertionError(f"stx serve did not start: {log.read_text()}")


def prepare_accounts(port: int, token: str, *accounts: str) -> None:
    """Fund ``accounts`` and let them sell short through the public API, as an
    operator would before trading (the pre-trade risk controls stay on)."""

    async def prepare() -> None:
        async with AsyncExchangeClient(f"127.0.0.1:{port}", token=token) as client:
            for account in accounts:
                await client.prepare_account(account, 1_000_000_000_0000, "end-to-end test")

    asyncio.run(prepare())
