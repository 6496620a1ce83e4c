"""Revocation reaches open streams at once, and dropped streams log nothing.

Real in-process exchanges on loopback, with the in-process shared state and
with a real Redis (``fresh_redis_url``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import uvloop
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc, users_pb2, users_pb2_grpc

from server.app import Exchange
from tests.server.local import local_settings, prepare_accounts

PASSWORD = "correct horse battery"
Scenario = Callable[[Exchange, grpc.aio.Channel], Awaitable[None]]
LATE_ORDERS = 20


@pytest.fixture(params=["memory", "redis"])
def shared_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return ""
    url: str = request.getfixturevalue("fresh_redis_url")
    return url


class _Records(logging.Handler):
    """Every log record at WARNING or above, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _run(tmp_path: Path, scenario: Scenario, redis_url: str = "") -> None:
    async def main() -> None:
        settings = local_settings(tmp_path, auth_required=True, redis_url=redis_url)
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await scenario(exchange, channel)
        finally:
            await exchange.stop()

    uvloop.run(main())  # as `stx serve` runs


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _sign_up(channel: grpc.aio.Channel, name: str) -> users_pb2.LoginResponse:
    users = users_pb2_grpc.UserServiceStub(channel)
    await users.Register(
        users_pb2.RegisterRequest(username=name, email=f"{name}@example.com", password=PASSWORD)
    )
    session: users_pb2.LoginResponse = await users.Login(
        users_pb2.LoginRequest(username=name, password=PASSWORD)
    )
    return session


def _place(account: str, client_id: str) -> orders_pb2.OrderStreamRequest:
    order = orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id=client_id, symbol="AAPL",
        side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
        time_in_force=common_pb2.TIME_IN_FORCE_GTC, quantity=100, price=1_890_000,
    )  # fmt: skip
    return orders_pb2.OrderStreamRequest(commands=[orders_pb2.OrderCommand(place=order)])


async def _open_trading_stream(channel: grpc.aio.Channel, token: str, account: str) -> Any:
    """A stream that has had one order accepted: it works before the revocation."""
    stream = orders_pb2_grpc.OrderServiceStub(channel).OrderStream(metadata=_bearer(token))  # type: ignore[call-arg]
    await stream.write(_place(account, "before"))
    answer: Any = await asyncio.wait_for(stream.read(), 10)
    assert [report.client_order_id for report in answer.reports] == ["before"]
    assert answer.reports[0].exec_type == orders_pb2.EXEC_TYPE_NEW
    return stream


async def _read_to_the_end(stream: Any) -> None:
    """Read until the stream fails; no report of an accepted order may come."""
    while True:
        answer = await asyncio.wait_for(stream.read(), 10)
        assert answer is not grpc.aio.EOF, "the stream ended without a status"  # type: ignore[attr-defined]
        assert not [report for report in answer.reports if report.report_sequence]


async def _late_orders_refused(exchange: Exchange, stream: Any, account: str) -> float:
    """Send LATE_ORDERS orders after the revocation; the stream must end with
    UNAUTHENTICATED and none of them may reach the engine. Returns the
    seconds until the stream ended."""
    revoked_at = time.perf_counter()
    for index in range(LATE_ORDERS):
        try:
            await stream.write(_place(account, f"after-{index}"))
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
            break  # the stream is already closed: nothing more to send
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await _read_to_the_end(stream)
    elapsed = time.perf_counter() - revoked_at
    assert ended.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in (ended.value.details() or "")
    await asyncio.sleep(0.2)  # anything that slipped through would be committed by now
    core = exchange.core
    assert core is not None
    accepted = [
        index
        for index in range(LATE_ORDERS)
        if core.registry.is_duplicate(account, f"after-{index}")
    ]
    assert accepted == []
    return elapsed


def test_logout_ends_the_open_stream_of_its_token_at_once(
    tmp_path: Path, shared_url: str, records: _Records
) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        session = await _sign_up(channel, "rita")
        await prepare_accounts(exchange, "RITA")
        stream = await _open_trading_stream(channel, session.access_token, "RITA")
        target = f"127.0.0.1:{exchange.port}"
        async with grpc.aio.insecure_channel(target) as other:
            await users_pb2_grpc.UserServiceStub(other).Logout(
                users_pb2.LogoutRequest(refresh_token=session.refresh_token),
                metadata=_bearer(session.access_token),
            )
        elapsed = await _late_orders_refused(exchange, stream, "RITA")
        assert elapsed < 1.0, f"the stream ran on for {elapsed:.3f} s after the logout"
        print(f"stream ended {elapsed * 1000:.1f} ms after the logout returned")

    _run(tmp_path, scenario, shared_url)
    # A revocation is routine: nothing about it at WARNING or above.
    assert [record.getMessage() for record in records.records] == []


def test_logout_with_a_renewed_token_ends_streams_of_the_older_one(
    tmp_path: Path, shared_url: str
) -> None:
    """Logout ends the whole session: every access token issued in it."""

    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        first = await _sign_up(channel, "sven")
        await prepare_accounts(exchange, "SVEN")
        stream = await _open_trading_stream(channel, first.access_token, "SVEN")
        users = users_pb2_grpc.UserServiceStub(channel)
        renewed = await users.RefreshToken(
            users_pb2.RefreshTokenRequest(refresh_token=first.refresh_token)
        )
        await users.Logout(
            users_pb2.LogoutRequest(refresh_token=renewed.refresh_token),
            metadata=_bearer(renewed.access_token),
        )
        await _late_orders_refused(exchange, stream, "SVEN")

    _run(tmp_path, scenario, shared_url)


def test_revoking_an_api_key_ends_the_streams_of_its_tokens(
    tmp_path: Path, shared_url: str
) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        session = await _sign_up(channel, "tove")
        await prepare_accounts(exchange, "TOVE")
        users = users_pb2_grpc.UserServiceStub(channel)
        created = await users.CreateApiKey(
            users_pb2.CreateApiKeyRequest(label="bot"), metadata=_bearer(session.access_token)
        )
        exchanged = await users.ExchangeApiKey(
            users_pb2.ExchangeApiKeyRequest(key_id=created.api_key.key_id, secret=created.secret)
        )
        stream = await _open_trading_stream(channel, exchanged.access_token, "TOVE")
        await users.RevokeApiKey(
            users_pb2.RevokeApiKeyRequest(key_id=created.api_key.key_id),
            metadata=_bearer(session.access_token),
        )
        await _late_orders_refused(exchange, stream, "TOVE")

    _run(tmp_path, scenario, shared_url)


STREAMS = 200
PER_CHANNEL = 20
FEED_MESSAGES = 20
ORDERS_PER_MESSAGE = 50


def _orders(account: str, prefix: str, count: int) -> orders_pb2.OrderStreamRequest:
    request = orders_pb2.OrderStreamRequest()
    for index in range(count):
        request.commands.extend(_place(account, f"{prefix}-{index}").commands)
    return request


def test_dropping_authenticated_streams_logs_no_error(tmp_path: Path, records: _Records) -> None:
    """Clients that vanish mid-stream are normal: no traceback, nothing at ERROR.

    Every stream follows one busy account, half of them reading and half
    not, and all of them are dropped while orders still flow. (This did not
    reproduce the ContextVar tracebacks here, which need grpc to cancel a
    call inside its send; test_interceptor_streams.py drives that case.)"""

    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        session = await _sign_up(channel, "ugo")
        await prepare_accounts(exchange, "UGO")
        target = f"127.0.0.1:{exchange.port}"
        subscribe = orders_pb2.OrderStreamRequest(
            subscriptions=[orders_pb2.ReportSubscription(account_id="UGO")]
        )
        channels = [grpc.aio.insecure_channel(target) for _ in range(STREAMS // PER_CHANNEL)]
        streams = []
        for dropped in channels:
            for _ in range(PER_CHANNEL):
                stream = orders_pb2_grpc.OrderServiceStub(dropped).OrderStream(  # type: ignore[call-arg]
                    metadata=_bearer(session.access_token)
                )
                await stream.write(subscribe)
                streams.append(stream)
        feeder = orders_pb2_grpc.OrderServiceStub(channel).OrderStream(  # type: ignore[call-arg]
            metadata=_bearer(session.access_token)
        )

        async def feed() -> None:
            for message in range(FEED_MESSAGES):
                await feeder.write(_orders("UGO", f"feed-{message}", ORDERS_PER_MESSAGE))
                await asyncio.wait_for(feeder.read(), 10)

        async def read(stream: Any) -> None:
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
                while True:
                    await stream.read()

        readers = [asyncio.ensure_future(read(stream)) for stream in streams[::2]]
        feeding = asyncio.ensure_future(feed())
        await asyncio.sleep(0.3)
        for dropped in channels:
            await dropped.close(grace=None)
        await feeding
        await asyncio.gather(*readers)
        await feeder.done_writing()
        await asyncio.sleep(1.0)
        gc.collect()
        await asyncio.sleep(0.5)

    _run(tmp_path, scenario)
    problems = [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in records.records
        if record.levelno >= logging.ERROR
        or "never retrieved" in record.getMessage()
        or "different Context" in record.getMessage()
    ]
    assert problems == []
