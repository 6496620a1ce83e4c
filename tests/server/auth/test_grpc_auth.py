"""Sign-in and access control over gRPC, with sign-in required."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from stocktraderx.v1 import (
    common_pb2,
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

from clients.credentials import ApiKeyCredentials, PasswordCredentials
from clients.sdk import AsyncExchangeClient, ExchangeClient, place_request
from server.app import Exchange
from server.errors import ERROR_DOMAIN
from tests.server.local import local_settings, prepare_accounts

PASSWORD = "correct horse battery"
Scenario = Callable[[Exchange, grpc.aio.Channel], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        settings = local_settings(tmp_path, auth_required=True)
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await scenario(exchange, channel)
        finally:
            await exchange.stop()

    asyncio.run(main())


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _sign_up(channel: grpc.aio.Channel, name: str) -> str:
    users = users_pb2_grpc.UserServiceStub(channel)
    await users.Register(
        users_pb2.RegisterRequest(username=name, email=f"{name}@example.com", password=PASSWORD)
    )
    session = await users.Login(users_pb2.LoginRequest(username=name, password=PASSWORD))
    return session.access_token


def _order(account: str, client_id: str, side: int = common_pb2.SIDE_BUY) -> Any:
    return orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id=client_id, symbol="AAPL",
        side=side, order_type=common_pb2.ORDER_TYPE_LIMIT,  # type: ignore[arg-type]
        time_in_force=common_pb2.TIME_IN_FORCE_GTC, quantity=100, price=1_890_000,
    )  # fmt: skip


async def _status(call: Awaitable[object]) -> grpc.StatusCode:
    code, _reason = await _refusal(call)
    return code


async def _refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    """The status code of a refused call and the reason of its ErrorInfo,
    which every refusal carries (in the exchange's domain)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), _error_info(caught.value)


def _error_info(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, (error.code(), error.details())
    infos = []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            infos.append(info)
    assert [info.domain for info in infos] == [ERROR_DOMAIN], status
    return str(infos[0].reason)


def test_tokens_roles_and_ownership_are_enforced(tmp_path: Path) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        alice = await _sign_up(channel, "alice")
        bob = await _sign_up(channel, "bob")
        # After sign-up, which opens the accounts with the default limits.
        await prepare_accounts(exchange, "ALICE")
        unauthenticated = grpc.StatusCode.UNAUTHENTICATED
        denied = grpc.StatusCode.PERMISSION_DENIED
        missing = grpc.StatusCode.NOT_FOUND
        assert await _refusal(orders.PlaceOrder(_order("ALICE", "x"))) == (
            unauthenticated,
            "UNAUTHENTICATED",
        )
        assert await _refusal(
            orders.PlaceOrder(_order("ALICE", "x"), metadata=_bearer("not-a-token"))
        ) == (unauthenticated, "UNAUTHENTICATED")
        mine = await orders.PlaceOrder(_order("ALICE", "a1"), metadata=_bearer(alice))
        order_id = mine.order.order_id
        assert (
            await _status(orders.PlaceOrder(_order("BOB", "a2"), metadata=_bearer(alice))) is denied
        )
        # Bob tries every order RPC on Alice's order and account.
        as_bob = _bearer(bob)
        attempts: tuple[Awaitable[object], ...] = (
            orders.CancelOrder(orders_pb2.CancelOrderRequest(order_id=order_id), metadata=as_bob),
            orders.ReplaceOrder(
                orders_pb2.ReplaceOrderRequest(order_id=order_id, price=1_880_000, quantity=100),
                metadata=as_bob,
            ),
            orders.GetOrder(orders_pb2.GetOrderRequest(order_id=order_id), metadata=as_bob),
        )
        for attempt in attempts:
            assert await _status(attempt) is missing
        refused: tuple[Awaitable[object], ...] = (
            orders.ListOrders(orders_pb2.ListOrdersRequest(account_id="ALICE"), metadata=as_bob),
            orders.MassCancel(orders_pb2.MassCancelRequest(account_id="ALICE"), metadata=as_bob),
            orders.ListExecutions(
                orders_pb2.ListExecutionsRequest(account_id="ALICE"), metadata=as_bob
            ),
        )
        for attempt in refused:
            assert await _status(attempt) is denied
        listed = await orders.ListOrders(orders_pb2.ListOrdersRequest(), metadata=as_bob)
        assert list(listed.orders) == []  # only Bob's own account
        stream = orders.OrderStream(metadata=as_bob)  # type: ignore[call-arg]
        await stream.write(
            orders_pb2.OrderStreamRequest(
                commands=[
                    orders_pb2.OrderCommand(place=_order("ALICE", "b1")),
                    orders_pb2.OrderCommand(
                        cancel=orders_pb2.CancelOrderRequest(order_id=order_id)
                    ),
                ],
                subscriptions=[orders_pb2.ReportSubscription(account_id="ALICE")],
            )
        )
        answer = await stream.read()
        assert isinstance(answer, orders_pb2.OrderStreamResponse)
        assert len(answer.reports) == 3
        assert all(report.report_sequence == 0 for report in answer.reports)  # refusals only
        await stream.done_writing()
        still = await orders.GetOrder(
            orders_pb2.GetOrderRequest(order_id=order_id), metadata=_bearer(alice)
        )
        assert still.order.status == orders_pb2.ORDER_STATUS_NEW
        # Public market data needs no token at all.
        market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        await market.GetQuote(market_data_pb2.GetQuoteRequest(symbol="AAPL"))
        # A viewer may sign in but not trade.
        assert exchange.directory is not None
        await exchange.directory.register("vera", "vera@example.com", PASSWORD, roles=(1,))
        users = users_pb2_grpc.UserServiceStub(channel)
        vera = await users.Login(users_pb2.LoginRequest(username="vera", password=PASSWORD))
        assert await _refusal(
            orders.PlaceOrder(_order("VERA", "v1"), metadata=_bearer(vera.access_token))
        ) == (denied, "FORBIDDEN")

    _run(tmp_path, scenario)


def test_sessions_api_keys_and_the_key_set(tmp_path: Path) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        users = users_pb2_grpc.UserServiceStub(channel)
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        await users.Register(
            users_pb2.RegisterRequest(username="kim", email="kim@example.com", password=PASSWORD)
        )
        assert (
            await _status(
                users.Register(
                    users_pb2.RegisterRequest(
                        username="kim", email="k2@example.com", password=PASSWORD
                    )
                )
            )
            is grpc.StatusCode.ALREADY_EXISTS
        )
        assert (
            await _status(
                users.Register(
                    users_pb2.RegisterRequest(username="lee", email="l@e.com", password="x")
                )
            )
            is grpc.StatusCode.INVALID_ARGUMENT
        )
        await prepare_accounts(exchange, "KIM")
        session = await users.Login(users_pb2.LoginRequest(username="kim", password=PASSWORD))
        me = await users.GetCurrentUser(
            users_pb2.GetCurrentUserRequest(), metadata=_bearer(session.access_token)
        )
        assert (me.user.username, list(me.user.account_ids)) == ("kim", ["KIM"])
        # Sealed in the store, in clear for its owner.
        assert me.user.email == "kim@example.com"
        taken = users_pb2.RegisterRequest(
            username="kim2", email="KIM@example.com", password=PASSWORD
        )
        assert await _status(users.Register(taken)) is grpc.StatusCode.ALREADY_EXISTS
        renewed = await users.RefreshToken(
            users_pb2.RefreshTokenRequest(refresh_token=session.refresh_token)
        )
        assert (
            await _status(
                users.RefreshToken(
                    users_pb2.RefreshTokenRequest(refresh_token=session.refresh_token)
                )
            )
            is grpc.StatusCode.UNAUTHENTICATED
        )  # reuse: the family is revoked
        assert (
            await _status(
                users.RefreshToken(
                    users_pb2.RefreshTokenRequest(refresh_token=renewed.refresh_token)
                )
            )
            is grpc.StatusCode.UNAUTHENTICATED
        )
        # Reuse ends the whole session: its access tokens too, not only the refresh tokens.
        assert (
            await _status(
                users.GetCurrentUser(
                    users_pb2.GetCurrentUserRequest(), metadata=_bearer(renewed.access_token)
                )
            )
            is grpc.StatusCode.UNAUTHENTICATED
        )
        again = await users.Login(users_pb2.LoginRequest(username="kim", password=PASSWORD))
        token = again.access_token
        created = await users.CreateApiKey(
            users_pb2.CreateApiKeyRequest(label="bot"), metadata=_bearer(token)
        )
        exchanged = await users.ExchangeApiKey(
            users_pb2.ExchangeApiKeyRequest(key_id=created.api_key.key_id, secret=created.secret)
        )
        await orders.PlaceOrder(_order("KIM", "k1"), metadata=_bearer(exchanged.access_token))
        listed = await users.ListApiKeys(users_pb2.ListApiKeysRequest(), metadata=_bearer(token))
        assert [key.key_id for key in listed.api_keys] == [created.api_key.key_id]
        keys = await users.GetJwks(users_pb2.GetJwksRequest())
        assert keys.keys[0].alg == "ES256"
        assert keys.keys[0].crv == "P-256"
        assert (
            await _status(
                users.Login(users_pb2.LoginRequest(username="kim", password="wrong password!"))
            )
            is grpc.StatusCode.UNAUTHENTICATED
        )

    _run(tmp_path, scenario)


def test_a_stream_ends_when_its_token_expires(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        assert exchange.tokens is not None
        exchange.tokens.access_seconds = 1
        token = await _sign_up(channel, "max")
        stub = orders_pb2_grpc.OrderServiceStub(channel)
        stream = stub.OrderStream(metadata=_bearer(token))  # type: ignore[call-arg]
        await stream.write(
            orders_pb2.OrderStreamRequest(
                subscriptions=[orders_pb2.ReportSubscription(account_id="MAX")]
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(_read_until_the_end(stream), 20)
        assert ended.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "expired" in (ended.value.details() or "")
        assert _error_info(ended.value) == "UNAUTHENTICATED"
        await asyncio.sleep(0.2)  # the stream's request reader winds down

    with caplog.at_level(logging.INFO):
        _run(tmp_path, scenario)
    # An expired token is routine: nothing about it at WARNING or above.
    assert [
        record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING
    ] == []


async def _read_until_the_end(stream: Any) -> None:
    while True:
        await stream.read()


def test_the_python_clients_sign_in_and_renew_tokens_themselves(tmp_path: Path) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        assert exchange.tokens is not None
        exchange.tokens.access_seconds = 31  # stale one second after issue (30 s margin)
        await _sign_up(channel, "ola")
        await prepare_accounts(exchange, "OLA")
        target = f"127.0.0.1:{exchange.port}"
        credentials = PasswordCredentials("ola", PASSWORD)

        def trade() -> list[str]:
            seen = []
            with ExchangeClient(target, credentials=credentials) as client:
                for number in range(2):
                    client.place(place_request("OLA", f"p{number}", "AAPL", "buy", 1, 1_890_000))
                    seen.append(credentials._token.value)
                    time.sleep(1.2)
            return seen

        first, second = await asyncio.to_thread(trade)
        assert first != second  # renewed with the refresh token, without a new sign-in
        users = users_pb2_grpc.UserServiceStub(channel)
        token = await _sign_up(channel, "pia")
        await prepare_accounts(exchange, "PIA")
        created = await users.CreateApiKey(
            users_pb2.CreateApiKeyRequest(label="algo"), metadata=_bearer(token)
        )
        key = ApiKeyCredentials(created.api_key.key_id, created.secret)
        async with AsyncExchangeClient(target, credentials=key) as client:
            answer = await client.place(place_request("PIA", "k1", "AAPL", "sell", 1, 1_990_000))
        assert answer.order.status == orders_pb2.ORDER_STATUS_NEW

    _run(tmp_path, scenario)
