"""What a real exchange logs: no secret, and nothing routine at ERROR."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
import pytest
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from server.app import Exchange
from tests.server.local import local_settings

PASSWORD = "correct horse battery"
URL_PASSWORD = "url-password-4711"
ENV_PASSWORD = "env-password-0815"
WRONG_PASSWORD = "wrong-password-1234"


def test_a_start_with_database_passwords_logs_none_of_them(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The throwaway server trusts local connections: the passwords are sent, not needed.
    with_password = postgres_url.replace("://stx@", f"://stx:{URL_PASSWORD}@")
    assert URL_PASSWORD in with_password
    monkeypatch.setenv("STX_DATABASE_PASSWORD", ENV_PASSWORD)
    settings = local_settings(tmp_path, database_url=with_password)

    async def start_and_stop() -> None:
        exchange = Exchange(settings)
        await exchange.start()
        await exchange.stop()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(start_and_stop())
    assert "serving gRPC" in caplog.text
    assert URL_PASSWORD not in caplog.text
    assert ENV_PASSWORD not in caplog.text


def test_failed_sign_ins_are_logged_at_info_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=True))
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                users = users_pb2_grpc.UserServiceStub(channel)
                await users.Register(
                    users_pb2.RegisterRequest(
                        username="ines", email="ines@example.com", password=PASSWORD
                    )
                )
                for _ in range(5):  # the fifth locks the user for a minute
                    with pytest.raises(grpc.aio.AioRpcError):
                        await users.Login(
                            users_pb2.LoginRequest(username="ines", password=WRONG_PASSWORD)
                        )
                with pytest.raises(grpc.aio.AioRpcError):
                    await users.Login(users_pb2.LoginRequest(username="ines", password=PASSWORD))
        finally:
            await exchange.stop()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    ours = [record for record in caplog.records if record.name == "server.auth.directory"]
    failed = [record for record in ours if "login_failed" in record.getMessage()]
    assert len(failed) == 5
    assert {record.levelno for record in failed} == {logging.INFO}
    assert "'ines'" in failed[0].getMessage()
    locked = [record for record in ours if "login_locked" in record.getMessage()]
    assert [record.levelno for record in locked] == [logging.WARNING]
    assert WRONG_PASSWORD not in caplog.text
    assert PASSWORD not in caplog.text
    assert [
        record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR
    ] == []
