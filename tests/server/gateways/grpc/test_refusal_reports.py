"""Which refusals are in an account's report history (issue 16, item 4).

The contract's split: a refusal by the engine (a price off its tick, a risk
control, an unknown symbol...) comes from a sequenced, journaled command, so
it is a REJECTED report numbered in the account's history and listed by
ListExecutions; a refusal by the gateway before anything is sequenced (an
input rule, a duplicate client order id, an order or account the caller may
not use) is answered to the caller alone, with ``report_sequence`` 0, and is
in no history. Either way a refusal report carries what the request said
(side, quantity, price, type, time in force, symbol, account, client order
id), so a client can tell which of its orders it is about.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from stocktraderx.v1 import common_pb2, orders_pb2

if TYPE_CHECKING:
    from stocktraderx.v1.orders_pb2_grpc import OrderServiceAsyncStub as Stub

from tests.server.gateways.grpc.test_grpc_orders import BUY, SELL, _details, _place, _requests, _run

GTC = common_pb2.TIME_IN_FORCE_GTC
LIMIT = common_pb2.ORDER_TYPE_LIMIT


def _gtc(
    account: str, client_id: str, side: int, quantity: int, price: int
) -> orders_pb2.PlaceOrderRequest:
    request = _place(account, client_id, side, quantity, price)
    request.time_in_force = GTC
    return request


def _echoes(report: orders_pb2.ExecutionReport, request: orders_pb2.PlaceOrderRequest) -> None:
    """``report`` carries every field of ``request`` a report has."""
    assert (
        report.account_id, report.client_order_id, report.symbol, report.side,
        report.order_type, report.time_in_force, report.quantity, report.price,
    ) == (
        request.account_id, request.client_order_id, request.symbol, request.side,
        request.order_type, request.time_in_force, request.quantity, request.price,
    )  # fmt: skip


async def _history(stub: Stub, account: str) -> list[orders_pb2.ExecutionReport]:
    listed = await stub.ListExecutions(orders_pb2.ListExecutionsRequest(account_id=account))
    return list(listed.reports)


def test_a_duplicate_on_the_stream_is_reported_with_the_request_it_refused(
    tmp_path: Path,
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        await stub.PlaceOrder(_gtc("alice", "dup", BUY, 100, 1_890_000))
        again = _gtc("alice", "dup", SELL, 300, 1_910_000)
        call = stub.OrderStream(
            _requests(
                orders_pb2.OrderStreamRequest(commands=[orders_pb2.OrderCommand(place=again)])
            )
        )
        (report,) = [report async for response in call for report in response.reports]
        assert report.exec_type == orders_pb2.EXEC_TYPE_REJECTED
        assert report.order_status == orders_pb2.ORDER_STATUS_REJECTED
        assert report.reject_reason == common_pb2.REJECT_REASON_DUPLICATE_CLIENT_ORDER_ID
        assert (report.report_sequence, report.sequence, report.order_id) == (0, 0, 0)
        _echoes(report, again)
        # Only the first use is in the history.
        assert [r.exec_type for r in await _history(stub, "alice")] == [orders_pb2.EXEC_TYPE_NEW]

    _run(tmp_path, scenario, accounts=("alice",))


def test_on_the_stream_engine_refusals_are_numbered_and_gateway_refusals_are_not(
    tmp_path: Path,
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        off_tick = _gtc("bob", "engine", BUY, 100, 1_900_050)
        no_side = _gtc("bob", "gateway", 0, 200, 1_900_000)
        commands = [
            orders_pb2.OrderCommand(place=off_tick),
            orders_pb2.OrderCommand(place=no_side),
            orders_pb2.OrderCommand(
                cancel=orders_pb2.CancelOrderRequest(order_id=999, account_id="bob")
            ),
        ]
        call = stub.OrderStream(_requests(orders_pb2.OrderStreamRequest(commands=commands)))
        reports = {
            (report.client_order_id or str(report.order_id)): report
            async for response in call
            for report in response.reports
        }
        engine, gateway, cancel = reports["engine"], reports["gateway"], reports["999"]
        assert engine.reject_reason == common_pb2.REJECT_REASON_PRICE_NOT_ON_TICK
        assert engine.report_sequence > 0
        assert engine.sequence > 0
        _echoes(engine, off_tick)
        assert gateway.reject_reason == common_pb2.REJECT_REASON_INVALID_SIDE
        assert (gateway.report_sequence, gateway.sequence) == (0, 0)
        assert gateway.text
        _echoes(gateway, no_side)
        assert cancel.exec_type == orders_pb2.EXEC_TYPE_CANCEL_REJECTED
        assert cancel.reject_reason == common_pb2.REJECT_REASON_UNKNOWN_ORDER
        assert (cancel.report_sequence, cancel.sequence, cancel.account_id) == (0, 0, "bob")
        assert await _history(stub, "bob") == [engine]

    _run(tmp_path, scenario, accounts=("bob",))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"side": 0}, "INVALID_ARGUMENT"),
        ({"client_order_id": "first"}, "DUPLICATE_CLIENT_ORDER_ID"),
    ],
)
def test_unary_engine_refusals_are_in_the_history_and_gateway_refusals_are_not(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        await stub.PlaceOrder(_gtc("carol", "first", BUY, 100, 1_890_000))
        off_tick = _gtc("carol", "engine", SELL, 300, 1_900_050)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PlaceOrder(off_tick)
        assert _details(caught.value)[0] == "PRICE_NOT_ON_TICK"
        refused = _gtc("carol", "gateway", SELL, 200, 1_900_000)
        for name, value in change.items():
            setattr(refused, name, value)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PlaceOrder(refused)
        assert _details(caught.value)[0] == reason
        history = await _history(stub, "carol")
        assert [(r.report_sequence, r.exec_type, r.client_order_id) for r in history] == [
            (1, orders_pb2.EXEC_TYPE_NEW, "first"),
            (2, orders_pb2.EXEC_TYPE_REJECTED, "engine"),
        ]
        assert history[1].reject_reason == common_pb2.REJECT_REASON_PRICE_NOT_ON_TICK
        assert history[1].sequence > history[0].sequence > 0
        _echoes(history[1], off_tick)

    _run(tmp_path, scenario, accounts=("carol",))
