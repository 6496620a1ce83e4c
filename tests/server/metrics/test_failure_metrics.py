"""``stx_redis_errors_total``, the gateway's ``stx_store_errors_total`` and
token failures in ``stx_auth_failures_total``, each moved by a real failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from stocktraderx.v1 import orders_pb2, orders_pb2_grpc

from server.app import Exchange
from server.metrics.shared import StoreErrors
from server.shared import open_shared
from server.store import open_store, schema
from tests.server.auth.test_grpc_auth import _bearer, _read_until_the_end, _run, _sign_up
from tests.throwaway import RedisServer


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_a_stopped_redis_server_counts_each_failed_command() -> None:
    server = RedisServer()

    async def main() -> None:
        shared, bus = await open_shared(server.url)
        try:
            await shared.put_quotes({"AAPL": b"one"})
            assert await shared.get_quote("AAPL") == b"one"
            assert _value("stx_redis_errors_total") == before
            server.close()
            with pytest.raises(RedisConnectionError):
                await shared.get_quote("AAPL")
            with pytest.raises(RedisConnectionError):
                await bus.last_id("orders")
            assert _value("stx_redis_errors_total") == before + 2
        finally:
            await shared.close()
            await bus.close()

    try:
        before = _value("stx_redis_errors_total")
        asyncio.run(main())
    finally:
        server.close()


def test_a_failing_store_counts_in_store_errors(tmp_path: Path) -> None:
    async def main() -> None:
        store = await open_store(f"sqlite:///{tmp_path / 'stx.db'}")
        errors = StoreErrors(store.engine)
        try:
            assert await store.count(schema.orders) == 0
            assert errors.count == 0
            async with store.engine.begin() as connection:
                await connection.execute(text("DROP TABLE orders"))
            with pytest.raises(OperationalError):
                await store.count(schema.orders)
            assert errors.count == 1
            [family] = errors.collect()
            [sample] = family.samples
            assert (sample.name, sample.labels, sample.value) == (
                "stx_store_errors_total", {"backend": "sqlite"}, 1,
            )  # fmt: skip
        finally:
            await store.close()

    asyncio.run(main())


def test_calls_with_a_missing_forged_or_revoked_token_are_counted(tmp_path: Path) -> None:
    reasons = ("token_missing", "token_invalid", "token_revoked")
    before = {reason: _value("stx_auth_failures_total", {"reason": reason}) for reason in reasons}

    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        request = orders_pb2.ListOrdersRequest()
        token = await _sign_up(channel, "alice")
        for metadata in ((), _bearer(token[:-4] + "AAAA"), _bearer("not.a.token")):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await orders.ListOrders(request, metadata=metadata)
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert exchange.shared is not None
        await exchange.shared.revoke(_claims_id(exchange, token), 2**31)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await orders.ListOrders(request, metadata=_bearer(token))
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED

    _run(tmp_path, scenario)
    moved = {
        reason: _value("stx_auth_failures_total", {"reason": reason}) - before[reason]
        for reason in reasons
    }
    assert moved == {"token_missing": 1, "token_invalid": 2, "token_revoked": 1}


def test_a_stream_outliving_its_token_is_counted_as_expired(tmp_path: Path) -> None:
    before = _value("stx_auth_failures_total", {"reason": "token_expired"})

    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        assert exchange.tokens is not None
        exchange.tokens.access_seconds = 1
        token = await _sign_up(channel, "max")
        stream = orders_pb2_grpc.OrderServiceStub(channel).OrderStream(metadata=_bearer(token))  # type: ignore[call-arg]
        await stream.write(
            orders_pb2.OrderStreamRequest(
                subscriptions=[orders_pb2.ReportSubscription(account_id="MAX")]
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(_read_until_the_end(stream), 20)
        assert ended.value.code() is grpc.StatusCode.UNAUTHENTICATED
        await asyncio.sleep(0.2)  # the stream's request reader winds down

    _run(tmp_path, scenario)
    assert _value("stx_auth_failures_total", {"reason": "token_expired"}) == before + 1


def _claims_id(exchange: Exchange, token: str) -> str:
    assert exchange.tokens is not None
    return exchange.tokens.verify(token).token_id
