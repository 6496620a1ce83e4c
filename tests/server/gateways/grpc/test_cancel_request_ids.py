"""A client's id on cancel and replace requests, echoed on the reports that
answer them (issue 16, item 7: a CANCEL_REJECTED about an unknown order id
could be matched to its request by nothing but that order id)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

if TYPE_CHECKING:
    from stocktraderx.v1.orders_pb2_grpc import OrderServiceAsyncStub as Stub

from server.app import Exchange
from tests.server.gateways.grpc.test_grpc_orders import BUY, _details, _place, _requests, _run
from tests.server.local import local_settings

Command = orders_pb2.OrderCommand


def _cancel(order_id: int, request_id: str) -> orders_pb2.OrderCommand:
    return Command(
        cancel=orders_pb2.CancelOrderRequest(
            order_id=order_id, account_id="fay", client_request_id=request_id
        )
    )


def _replace(order_id: int, request_id: str, price: int = 1_870_000) -> orders_pb2.OrderCommand:
    return Command(
        replace=orders_pb2.ReplaceOrderRequest(
            order_id=order_id,
            account_id="fay",
            price=price,
            quantity=100,
            client_request_id=request_id,
        )
    )


def test_the_stream_echoes_cancel_and_replace_request_ids(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        first, second = [
            (await stub.PlaceOrder(_place("fay", f"f{i}", BUY, 100, 1_880_000))).order.order_id
            for i in range(2)
        ]
        commands = [
            _cancel(999, "cancel-unknown"),
            _replace(999, "replace-unknown"),
            _cancel(first, "cancel-first"),
            _cancel(first, "cancel-first-again"),
            _replace(second, "replace-second"),
            Command(cancel=orders_pb2.CancelOrderRequest(order_id=second, account_id="fay")),
        ]
        call = stub.OrderStream(_requests(orders_pb2.OrderStreamRequest(commands=commands)))
        reports = [report async for response in call for report in response.reports]
        seen = {
            (report.client_request_id, report.exec_type, report.order_id, report.report_sequence)
            for report in reports
        }
        # Refused by the gateway (no order 999): to this stream alone, unnumbered.
        assert ("cancel-unknown", orders_pb2.EXEC_TYPE_CANCEL_REJECTED, 999, 0) in seen
        assert ("replace-unknown", orders_pb2.EXEC_TYPE_REPLACE_REJECTED, 999, 0) in seen
        # Through the journal: numbered, and in the history with their ids.
        history = await stub.ListExecutions(orders_pb2.ListExecutionsRequest(account_id="fay"))
        answered = [
            (report.client_request_id, report.exec_type, report.order_id)
            for report in history.reports
            if report.exec_type != orders_pb2.EXEC_TYPE_NEW
        ]
        assert answered == [
            ("cancel-first", orders_pb2.EXEC_TYPE_CANCELED, first),
            ("cancel-first-again", orders_pb2.EXEC_TYPE_CANCEL_REJECTED, first),
            ("replace-second", orders_pb2.EXEC_TYPE_REPLACED, second),
            ("", orders_pb2.EXEC_TYPE_CANCELED, second),
        ]
        numbered = {r.report_sequence for r in reports if r.client_request_id}
        assert numbered - {0} == {r.report_sequence for r in history.reports if r.client_request_id}
        unknown = next(r for r in reports if r.client_request_id == "cancel-unknown")
        assert (unknown.account_id, unknown.reject_reason) == (
            "fay",
            common_pb2.REJECT_REASON_UNKNOWN_ORDER,
        )

    _run(tmp_path, scenario, accounts=("fay",))


def test_unary_cancels_and_replaces_record_their_request_ids(tmp_path: Path) -> None:
    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        placed = await stub.PlaceOrder(_place("fay", "f1", BUY, 100, 1_880_000))
        order_id = placed.order.order_id
        await stub.ReplaceOrder(
            orders_pb2.ReplaceOrderRequest(
                order_id=order_id, price=1_870_000, quantity=100, client_request_id="r-1"
            )
        )
        await stub.CancelOrder(
            orders_pb2.CancelOrderRequest(order_id=order_id, client_request_id="c-1")
        )
        history = await stub.ListExecutions(orders_pb2.ListExecutionsRequest(account_id="fay"))
        assert [(r.exec_type, r.client_request_id) for r in history.reports] == [
            (orders_pb2.EXEC_TYPE_NEW, ""),
            (orders_pb2.EXEC_TYPE_REPLACED, "r-1"),
            (orders_pb2.EXEC_TYPE_CANCELED, "c-1"),
        ]
        # The id obeys the client order id's rule.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CancelOrder(
                orders_pb2.CancelOrderRequest(order_id=order_id, client_request_id="x" * 65)
            )
        assert _details(caught.value) == ("INVALID_ARGUMENT", ["client_request_id"])

    _run(tmp_path, scenario, accounts=("fay",))


def test_request_ids_survive_a_restart(tmp_path: Path) -> None:
    """Journaled with the command, so rebuilt from the journal like every report."""

    async def history() -> list[tuple[int, str]]:
        exchange = Exchange(local_settings(tmp_path, auth_required=False))
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                stub = orders_pb2_grpc.OrderServiceStub(channel)
                listed = await stub.ListExecutions(
                    orders_pb2.ListExecutionsRequest(account_id="fay")
                )
                return [(r.exec_type, r.client_request_id) for r in listed.reports]
        finally:
            await exchange.stop()

    async def scenario(stub: Stub, _: grpc.aio.Channel) -> None:
        placed = await stub.PlaceOrder(_place("fay", "f1", BUY, 100, 1_880_000))
        await stub.CancelOrder(
            orders_pb2.CancelOrderRequest(order_id=placed.order.order_id, client_request_id="c-1")
        )

    _run(tmp_path, scenario, accounts=("fay",))
    # Without snapshots the registry is the journal's replay alone.
    snapshots = list(tmp_path.rglob("snapshot-*.json"))
    assert snapshots
    for path in snapshots:
        path.unlink()
    assert asyncio.run(history()) == [
        (orders_pb2.EXEC_TYPE_NEW, ""),
        (orders_pb2.EXEC_TYPE_CANCELED, "c-1"),
    ]
