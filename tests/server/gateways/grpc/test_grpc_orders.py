"""The order service over a real gRPC socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

if TYPE_CHECKING:
    from stocktraderx.v1.orders_pb2_grpc import OrderServiceAsyncStub as Stub

from server.app import Exchange
from tests.server.local import local_settings, prepare_accounts

BUY = common_pb2.SIDE_BUY
SELL = common_pb2.SIDE_SELL
LIMIT = common_pb2.ORDER_TYPE_LIMIT


def _run(
    tmp_path: Path,
    scenario: Callable[[Stub, grpc.aio.Channel], Awaitable[None]],
    backlog: int = 1000,
    accounts: tuple[str, ...] = (),
) -> None:
    """Run ``scenario`` against a fresh exchange whose ``accounts`` are funded
    and may sell short (the pre-trade risk controls stay on)."""

    async def main() -> None:
        settings = local_settings(tmp_path, auth_required=False)
        exchange = Exchange(settings, stream_backlog=backlog)
        await exchange.start()
        try:
            await prepare_accounts(exchange, *accounts)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await scenario(orders_pb2_grpc.OrderServiceStub(channel), channel)
        finally:
            await exchange.stop()

    asyncio.run(main())


def _place(
    account: str, client_id: str, side: int, quantity: int, price: int, symbol: str = "AAPL"
) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id=account,
        client_order_id=client_id,
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        order_type=LIMIT,
        quantity=quantity,
        price=price,
    )


def _details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    reason, fields = "", []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad):
            fields = [violation.field for violation in bad.field_violations]
    return reason, fields


def test_place_trade_query_and_cancel(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        placed = await stub.PlaceOrder(_place("alice", "a1", SELL, 300, 1_900_000))
        assert placed.order.status == orders_pb2.ORDER_STATUS_NEW
        assert [report.exec_type for report in placed.reports] == [orders_pb2.EXEC_TYPE_NEW]
        taken = await stub.PlaceOrder(_place("bob", "b1", BUY, 100, 1_900_000))
        assert taken.order.status == orders_pb2.ORDER_STATUS_FILLED
        resting = await stub.GetOrder(orders_pb2.GetOrderRequest(order_id=placed.order.order_id))
        assert (resting.order.leaves_quantity, resting.order.cum_quantity) == (200, 100)
        fills = await stub.ListExecutions(orders_pb2.ListExecutionsRequest(account_id="alice"))
        assert [report.report_sequence for report in fills.reports] == [1, 2]
        cancelled = await stub.CancelOrder(
            orders_pb2.CancelOrderRequest(order_id=placed.order.order_id, account_id="alice")
        )
        assert cancelled.order.status == orders_pb2.ORDER_STATUS_CANCELED
        listed = await stub.ListOrders(orders_pb2.ListOrdersRequest(account_id="alice"))
        assert [order.client_order_id for order in listed.orders] == ["a1"]

    _run(tmp_path, scenario, accounts=("alice", "bob"))


@pytest.mark.parametrize(
    ("change", "code", "reason", "field"),
    [
        ({"side": 0}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "side"),
        ({"side": 9}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "side"),
        ({"account_id": ""}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id"),
        ({"price": 1_900_050}, grpc.StatusCode.INVALID_ARGUMENT, "PRICE_NOT_ON_TICK", "price"),
        ({"symbol": "NOPE"}, grpc.StatusCode.NOT_FOUND, "UNKNOWN_SYMBOL", ""),
        ({"price": 9_000_000}, grpc.StatusCode.FAILED_PRECONDITION, "PRICE_OUTSIDE_BAND", ""),
    ],
)
def test_bad_orders_get_the_right_status_and_details(
    tmp_path: Path, change: dict[str, object], code: grpc.StatusCode, reason: str, field: str
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        request = _place("alice", "x1", BUY, 100, 1_900_000)
        for name, value in change.items():
            setattr(request, name, value)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PlaceOrder(request)
        assert caught.value.code() is code
        found_reason, fields = _details(caught.value)
        assert found_reason == reason
        assert fields == ([field] if field else [])
        # A refused price says the rule in numbers (issue 16: the reason alone).
        details = caught.value.details() or ""
        if reason == "PRICE_NOT_ON_TICK":
            assert "the tick size of AAPL is 0.0100" in details
        if reason == "PRICE_OUTSIDE_BAND":
            assert "the band of AAPL is " in details
            assert "basis points around 190.0000" in details

    _run(tmp_path, scenario, accounts=("alice",))


def test_duplicate_client_order_id_is_refused_and_unknown_orders_are_not_found(
    tmp_path: Path,
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        await stub.PlaceOrder(_place("alice", "dup", BUY, 100, 1_890_000))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PlaceOrder(_place("alice", "dup", BUY, 100, 1_890_000))
        assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
        await stub.PlaceOrder(_place("bob", "dup", BUY, 100, 1_890_000))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CancelOrder(orders_pb2.CancelOrderRequest(order_id=999))
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND

    _run(tmp_path, scenario, accounts=("alice", "bob"))


async def _requests(
    *messages: orders_pb2.OrderStreamRequest,
) -> AsyncIterator[orders_pb2.OrderStreamRequest]:
    for message in messages:
        yield message


def test_stream_batches_commands_and_coalesces_reports(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        commands = [
            orders_pb2.OrderCommand(place=_place("carol", f"c{i}", BUY, 100, 1_880_000 + i * 100))
            for i in range(20)
        ]
        commands.append(orders_pb2.OrderCommand(place=_place("carol", "c0", BUY, 100, 1_880_000)))
        call = stub.OrderStream(_requests(orders_pb2.OrderStreamRequest(commands=commands)))
        reports: list[orders_pb2.ExecutionReport] = []
        async for response in call:
            reports.extend(response.reports)
        numbered = [report for report in reports if report.report_sequence]
        assert [report.report_sequence for report in numbered] == list(range(1, 21))
        (duplicate,) = [report for report in reports if not report.report_sequence]
        assert (duplicate.client_order_id, duplicate.reject_reason) == ("c0", 23)

    _run(tmp_path, scenario, accounts=("carol",))


def test_resume_returns_exactly_the_missed_reports(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        for index in range(5):
            await stub.PlaceOrder(_place("dave", f"d{index}", BUY, 100, 1_880_000))
        subscription = orders_pb2.ReportSubscription(account_id="dave", after_report_sequence=2)
        call = stub.OrderStream(
            _requests(orders_pb2.OrderStreamRequest(subscriptions=[subscription]))
        )
        seen = [report.report_sequence async for response in call for report in response.reports]
        assert seen == [3, 4, 5]

    _run(tmp_path, scenario, accounts=("dave",))


async def _drain(call: AsyncIterable[orders_pb2.OrderStreamResponse]) -> None:
    async for _ in call:
        pass


def test_a_stream_that_does_not_read_is_cut_off(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        queue: asyncio.Queue[orders_pb2.OrderStreamRequest | None] = asyncio.Queue()

        async def follow() -> AsyncIterator[orders_pb2.OrderStreamRequest]:
            while (message := await queue.get()) is not None:
                yield message

        silent = stub.OrderStream(follow())
        await queue.put(
            orders_pb2.OrderStreamRequest(
                subscriptions=[orders_pb2.ReportSubscription(account_id="erin")]
            )
        )
        await asyncio.sleep(0.2)
        # One committed batch of 40 reports for erin: more than the backlog of 10.
        busy = [
            orders_pb2.OrderCommand(place=_place("erin", f"e{i}", BUY, 100, 1_870_000))
            for i in range(40)
        ]
        sender = stub.OrderStream(_requests(orders_pb2.OrderStreamRequest(commands=busy)))
        with pytest.raises(grpc.aio.AioRpcError):
            await _drain(sender)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _drain(silent)
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        await queue.put(None)

    _run(tmp_path, scenario, backlog=10, accounts=("erin",))


def test_health_check_reports_serving(tmp_path: Path) -> None:
    async def scenario(_: Stub, channel: grpc.aio.Channel) -> None:
        health = health_pb2_grpc.HealthStub(channel)
        response = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert response.status == health_pb2.HealthCheckResponse.SERVING

    _run(tmp_path, scenario)


def test_stream_carries_cancels_replaces_and_mass_cancels(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        placed = [
            (await stub.PlaceOrder(_place("fay", f"f{i}", BUY, 100, 1_880_000))).order.order_id
            for i in range(4)
        ]
        commands = [
            orders_pb2.OrderCommand(
                cancel=orders_pb2.CancelOrderRequest(order_id=placed[0], account_id="fay")
            ),
            orders_pb2.OrderCommand(
                replace=orders_pb2.ReplaceOrderRequest(
                    order_id=placed[1], account_id="fay", price=1_870_000, quantity=100
                )
            ),
            orders_pb2.OrderCommand(
                cancel=orders_pb2.CancelOrderRequest(order_id=999, account_id="fay")
            ),
            orders_pb2.OrderCommand(mass_cancel=orders_pb2.MassCancelRequest(account_id="fay")),
            orders_pb2.OrderCommand(),
        ]
        call = stub.OrderStream(_requests(orders_pb2.OrderStreamRequest(commands=commands)))
        reports = [report async for response in call for report in response.reports]
        kinds = [(report.exec_type, report.order_id) for report in reports]
        assert (orders_pb2.EXEC_TYPE_CANCELED, placed[0]) in kinds
        assert (orders_pb2.EXEC_TYPE_REPLACED, placed[1]) in kinds
        assert (orders_pb2.EXEC_TYPE_CANCEL_REJECTED, 999) in kinds
        mass = {order for kind, order in kinds if kind == orders_pb2.EXEC_TYPE_CANCELED}
        assert mass == set(placed)
        assert any(report.exec_type == orders_pb2.EXEC_TYPE_REJECTED for report in reports)

    _run(tmp_path, scenario, accounts=("fay",))
