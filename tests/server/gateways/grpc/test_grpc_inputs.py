"""Issue 14, items 3-5 and 7 over real gRPC: every field is checked at the
gateway, before anything is journaled or a client order id is reserved;
bad input is INVALID_ARGUMENT naming the field (never UNKNOWN or INTERNAL),
on the order stream a REJECTED report that leaves the stream open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from stocktraderx.v1 import (
    common_pb2,
    orders_pb2,
    orders_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
    users_pb2,
)

if TYPE_CHECKING:
    from stocktraderx.v1.orders_pb2_grpc import OrderServiceAsyncStub as Stub

from server.app import Exchange
from tests.server.journal_count import journal_records
from tests.server.local import local_settings, prepare_accounts

Scenario = Callable[["Stub", grpc.aio.Channel, Exchange], Awaitable[None]]
YEAR_9999 = 253402300799
"""9999-12-31T23:59:59Z, as issue 14 filed it."""
YEAR_1 = -62135596800
"""0001-01-01T00:00:00Z, the other filed value."""


def _run(tmp_path: Path, scenario: Scenario, *, auth_required: bool = False) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=auth_required))
        await exchange.start()
        try:
            await prepare_accounts(exchange, "ALICE")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await scenario(orders_pb2_grpc.OrderServiceStub(channel), channel, exchange)
        finally:
            await exchange.stop()

    asyncio.run(main())


def _order(client_order_id: str = "c1", **changes: Any) -> orders_pb2.PlaceOrderRequest:
    request = orders_pb2.PlaceOrderRequest(
        account_id="ALICE",
        client_order_id=client_order_id,
        symbol="AAPL",
        side=common_pb2.SIDE_BUY,
        order_type=common_pb2.ORDER_TYPE_LIMIT,
        quantity=100,
        price=1_890_500,
    )
    for name, value in changes.items():
        if isinstance(value, Timestamp):
            getattr(request, name).CopyFrom(value)
        else:
            setattr(request, name, value)
    return request


def _gtd(seconds: int, nanos: int = 0) -> orders_pb2.PlaceOrderRequest:
    return _order(
        time_in_force=common_pb2.TIME_IN_FORCE_GTD,
        expire_time=Timestamp(seconds=seconds, nanos=nanos),
    )


def _details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, (error.code(), error.details())
    reason, fields = "", []
    for detail in status.details:
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad):
            fields = [violation.field for violation in bad.field_violations]
    return reason, fields


async def _refused(call: Awaitable[Any], field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert _details(caught.value) == ("INVALID_ARGUMENT", [field])


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(YEAR_9999, 0), (YEAR_1, 0), (2**62, 0), (4_000_000_000, -1), (4_000_000_000, 10**9)],
)
def test_an_expire_time_out_of_range_is_invalid_and_journals_nothing(
    tmp_path: Path, seconds: int, nanos: int
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        before = await journal_records(exchange)
        await _refused(stub.PlaceOrder(_gtd(seconds, nanos)), "expire_time")
        assert await journal_records(exchange) == before
        # The client order id was not reserved by the refused order.
        placed = await stub.PlaceOrder(_order("c1"))
        assert placed.order.client_order_id == "c1"

    _run(tmp_path, scenario)


def test_the_last_representable_expire_time_is_the_engines_to_judge(tmp_path: Path) -> None:
    """2262-04-11T23:47:16.854775807Z fits in int64 nanoseconds: accepted."""

    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        placed = await stub.PlaceOrder(_gtd(9_223_372_036, 854_775_807))
        assert placed.order.expire_time.ToNanoseconds() == 2**63 - 1

    _run(tmp_path, scenario)


async def _requests(
    queue: asyncio.Queue[orders_pb2.OrderStreamRequest | None],
) -> AsyncIterator[orders_pb2.OrderStreamRequest]:
    while (item := await queue.get()) is not None:
        yield item


def _place(request: orders_pb2.PlaceOrderRequest) -> orders_pb2.OrderStreamRequest:
    return orders_pb2.OrderStreamRequest(commands=[orders_pb2.OrderCommand(place=request)])


async def _next_reports(
    responses: AsyncIterator[orders_pb2.OrderStreamResponse],
) -> list[orders_pb2.ExecutionReport]:
    async for response in responses:
        if response.reports:
            return list(response.reports)
    raise AssertionError("the stream ended")


def test_on_the_stream_a_bad_expire_time_is_a_rejected_report_and_the_stream_stays_open(
    tmp_path: Path,
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        queue: asyncio.Queue[orders_pb2.OrderStreamRequest | None] = asyncio.Queue()
        call = stub.OrderStream(_requests(queue))
        responses = call.__aiter__()
        before = await journal_records(exchange)
        for seconds in (YEAR_9999, YEAR_1):
            await queue.put(_place(_gtd(seconds)))
            (report,) = await _next_reports(responses)
            assert report.exec_type == orders_pb2.EXEC_TYPE_REJECTED
            assert report.reject_reason == common_pb2.REJECT_REASON_INVALID_EXPIRE_TIME
            assert report.report_sequence == 0
            assert report.client_order_id == "c1"
            assert "expire_time" in report.text
            assert "2262" in report.text
        assert await journal_records(exchange) == before
        # Same stream, same client order id: the refused orders reserved nothing.
        await queue.put(_place(_order("c1")))
        (accepted,) = await _next_reports(responses)
        assert accepted.exec_type == orders_pb2.EXEC_TYPE_NEW
        assert accepted.client_order_id == "c1"
        await queue.put(None)
        async for _response in responses:
            pass
        assert await call.code() is grpc.StatusCode.OK

    _run(tmp_path, scenario)


@pytest.mark.parametrize(
    "client_order_id", ["ordré-1", "\u0661\u0662\u0663", "tab\there", "x" * 65]
)
def test_client_order_ids_are_printable_ascii_on_unary_and_stream(
    tmp_path: Path, client_order_id: str
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        before = await journal_records(exchange)
        await _refused(stub.PlaceOrder(_order(client_order_id)), "client_order_id")
        queue: asyncio.Queue[orders_pb2.OrderStreamRequest | None] = asyncio.Queue()
        responses = stub.OrderStream(_requests(queue)).__aiter__()
        await queue.put(_place(_order(client_order_id)))
        (report,) = await _next_reports(responses)
        assert report.exec_type == orders_pb2.EXEC_TYPE_REJECTED
        assert "client_order_id" in report.text
        await queue.put(None)
        assert await journal_records(exchange) == before

    _run(tmp_path, scenario)


def test_a_3_mib_symbol_is_refused_before_the_journal(tmp_path: Path) -> None:
    """Filed: refused NOT_FOUND but journaled (9.4 MB for three orders) and
    returned in every later ListExecutions."""

    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        huge = "X" * (3 * 1024 * 1024)
        before = await journal_records(exchange)
        for n in range(3):
            await _refused(stub.PlaceOrder(_order(f"big{n}", symbol=huge)), "symbol")
        queue: asyncio.Queue[orders_pb2.OrderStreamRequest | None] = asyncio.Queue()
        responses = stub.OrderStream(_requests(queue)).__aiter__()
        await queue.put(_place(_order("big-stream", symbol=huge)))
        (report,) = await _next_reports(responses)
        assert report.exec_type == orders_pb2.EXEC_TYPE_REJECTED
        assert report.symbol == ""  # not echoed back
        assert report.ByteSize() < 1024
        await queue.put(None)
        assert await journal_records(exchange) == before
        listed = await stub.ListExecutions(orders_pb2.ListExecutionsRequest(account_id="ALICE"))
        assert listed.ByteSize() < 1024

    _run(tmp_path, scenario)


@pytest.mark.parametrize(
    "token", ["²", "\u0663", "99999999999999999999999999", "9223372036854775808"]
)
def test_page_tokens_that_we_never_issued_are_invalid(tmp_path: Path, token: str) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        await _refused(
            stub.ListOrders(orders_pb2.ListOrdersRequest(account_id="ALICE", page_token=token)),
            "page_token",
        )
        await _refused(
            stub.ListExecutions(
                orders_pb2.ListExecutionsRequest(account_id="ALICE", page_token=token)
            ),
            "page_token",
        )

    _run(tmp_path, scenario)


def test_an_order_id_beyond_the_stores_integers_is_invalid(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel, exchange: Exchange) -> None:
        await _refused(stub.GetOrder(orders_pb2.GetOrderRequest(order_id=2**64 - 1)), "order_id")

    _run(tmp_path, scenario)


def test_malformed_request_bytes_are_invalid_argument_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed in or not: grpc used to log a traceback per request and answer UNKNOWN."""
    garbage = b"\xff\xff\xff\xff"

    async def scenario(stub: Stub, channel: grpc.aio.Channel, exchange: Exchange) -> None:
        def raw(path: str) -> Any:
            return channel.unary_unary(path, lambda data: data, lambda data: data)

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw("/stocktraderx.v1.UserService/Login")(garbage)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert _details(caught.value)[0] == "MALFORMED_REQUEST"
        # A method that needs credentials: the access rule answers first.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw("/stocktraderx.v1.OrderService/PlaceOrder")(garbage)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        login = users_pb2.LoginRequest(username="nobody", password="wrong password here")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw("/stocktraderx.v1.UserService/Login")(login.SerializeToString())
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED  # parsed as usual

    with caplog.at_level(logging.DEBUG):
        _run(tmp_path, scenario, auth_required=True)
    assert not [record for record in caplog.records if record.exc_info]
    assert not [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and "DecodeError" in record.getMessage()
    ]


def test_a_malformed_message_on_the_order_stream_ends_it_invalid_argument(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(stub: Stub, channel: grpc.aio.Channel, exchange: Exchange) -> None:
        stream = channel.stream_stream(
            "/stocktraderx.v1.OrderService/OrderStream",
            lambda data: data,
            orders_pb2.OrderStreamResponse.FromString,
        )

        async def messages() -> AsyncIterator[bytes]:
            yield _place(_order("ok1")).SerializeToString()
            yield b"\xff\xff\xff\xff"

        call = stream(messages())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _response in call:
                pass
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        # The well-formed order before it was taken.
        listed = await stub.ListOrders(orders_pb2.ListOrdersRequest(account_id="ALICE"))
        assert [order.client_order_id for order in listed.orders] == ["ok1"]

    with caplog.at_level(logging.DEBUG):
        _run(tmp_path, scenario)
    assert not [record for record in caplog.records if record.exc_info]


def test_funding_beyond_int64_cash_is_refused_not_unknown(tmp_path: Path) -> None:
    """Found by probing every RPC with edge values: the engine credited it,
    then the answer could not hold the cash (UNKNOWN "Value out of range")."""

    async def scenario(stub: Stub, channel: grpc.aio.Channel, exchange: Exchange) -> None:
        risk = risk_pb2_grpc.RiskServiceStub(channel)
        request = risk_pb2.FundAccountRequest(account_id="ALICE", amount=2**63 - 1)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await risk.FundAccount(request)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert _details(caught.value)[0] == "INVALID_AMOUNT"
        account = await risk.GetAccount(risk_pb2.GetAccountRequest(account_id="ALICE"))
        assert 0 < account.account.cash_balance < 2**63

    _run(tmp_path, scenario)
