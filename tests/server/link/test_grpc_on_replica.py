"""The gRPC services in a gateway: on a Replica and a RemoteSequencer, over a
real gRPC port, against a core behind core.sock, as they run beside an
in-process ExchangeCore."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from stocktraderx.v1 import (
    common_pb2,
    orders_pb2,
    orders_pb2_grpc,
    reference_data_pb2,
    reference_data_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)

if TYPE_CHECKING:
    from stocktraderx.v1.orders_pb2_grpc import OrderServiceAsyncStub as Stub

from server.auth.directory import UserDirectory
from server.auth.keys import KeyRing
from server.auth.tokens import TokenIssuer
from server.consumers.surveillance.desk import AlertDesk
from server.gateways.grpc.orders import OrderService
from server.gateways.grpc.reference import ReferenceDataService
from server.gateways.grpc.risk import RiskService
from server.link.client import CoreClient
from server.link.listener import CoreLinkServer
from server.shared import MemoryShared
from server.store import open_store
from tests.server.gateways.grpc.test_grpc_orders import _details, _place
from tests.server.link.harness import core_with_link, fund, gateway

BUY = common_pb2.SIDE_BUY
SELL = common_pb2.SIDE_SELL


@contextlib.asynccontextmanager
async def grpc_gateway(directory: Path, name: str) -> AsyncIterator[tuple[CoreClient, str]]:
    """A gateway process's services on a port: its replica, sequencer, store."""
    async with gateway(directory, name) as (client, remote):
        store = await open_store(f"sqlite:///{directory / f'{name}.db'}")
        tokens = TokenIssuer(KeyRing(directory / f"{name}-keys", 900), "https://stx.test", "stx")
        users = UserDirectory(store, MemoryShared(), tokens)
        alerts = AlertDesk(store, lambda _: None, lambda _: None)
        replica = client.replica
        assert replica is not None
        server = grpc.aio.server()
        orders_pb2_grpc.add_OrderServiceServicer_to_server(OrderService(replica), server)
        reference_data_pb2_grpc.add_ReferenceDataServiceServicer_to_server(
            ReferenceDataService(replica), server
        )
        risk_pb2_grpc.add_RiskServiceServicer_to_server(RiskService(replica, users, alerts), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            await fund(remote, "alice", "bob")
            yield client, f"127.0.0.1:{port}"
        finally:
            await server.stop(None)
            await store.close()


@contextlib.asynccontextmanager
async def held_back(client: CoreClient, link: CoreLinkServer) -> AsyncIterator[None]:
    """The gateway reads nothing from the core until the core has refused a
    command: its replica cannot know of the first use, so the refusal can
    only be the core's."""
    transport = client.transport
    assert transport is not None
    refused = link.refused
    transport.pause_reading()
    try:
        yield
        for _ in range(2000):
            if link.refused > refused:
                break
            await asyncio.sleep(0.005)
        else:
            raise AssertionError("the core refused nothing")
    finally:
        transport.resume_reading()


def test_order_reference_and_risk_services_run_on_a_replica(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path) as (core, _),
            grpc_gateway(tmp_path, "g1") as (
                client,
                address,
            ),
            grpc.aio.insecure_channel(address) as channel,
        ):
            orders = orders_pb2_grpc.OrderServiceStub(channel)
            placed = await orders.PlaceOrder(_place("alice", "a1", SELL, 300, 1_900_000))
            assert placed.order.status == orders_pb2.ORDER_STATUS_NEW
            assert [r.exec_type for r in placed.reports] == [orders_pb2.EXEC_TYPE_NEW]
            taken = await orders.PlaceOrder(_place("bob", "b1", BUY, 100, 1_900_000))
            assert taken.order.status == orders_pb2.ORDER_STATUS_FILLED
            fills = await orders.ListExecutions(
                orders_pb2.ListExecutionsRequest(account_id="alice")
            )
            assert [report.report_sequence for report in fills.reports] == [1, 2]
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await orders.PlaceOrder(_place("alice", "a2", BUY, 100, 1_900_050))
            assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert _details(caught.value) == ("PRICE_NOT_ON_TICK", ["price"])
            cancelled = await orders.CancelOrder(
                orders_pb2.CancelOrderRequest(
                    order_id=placed.order.order_id, account_id="alice", client_request_id="c-1"
                )
            )
            assert cancelled.order.status == orders_pb2.ORDER_STATUS_CANCELED
            # The engine's refusal is in the history; the cancel's own id
            # crossed the link with it (issue 16, items 4 and 7).
            history = await orders.ListExecutions(
                orders_pb2.ListExecutionsRequest(account_id="alice", after_report_sequence=2)
            )
            assert [(r.exec_type, r.client_request_id) for r in history.reports] == [
                (orders_pb2.EXEC_TYPE_REJECTED, ""),
                (orders_pb2.EXEC_TYPE_CANCELED, "c-1"),
            ]

            reference = reference_data_pb2_grpc.ReferenceDataServiceStub(channel)
            listed = await reference.ListInstruments(reference_data_pb2.ListInstrumentsRequest())
            assert "AAPL" in [instrument.symbol for instrument in listed.instruments]

            risk = risk_pb2_grpc.RiskServiceStub(channel)
            funded = await risk.FundAccount(
                risk_pb2.FundAccountRequest(account_id="carol", amount=5_000_0000)
            )
            assert funded.account.cash_balance == 5_000_0000
            assert core.engine.risk.accounts["carol"].cash == 5_000_0000

            # The order stream: reports for its commands, refusals with reasons.
            async with _stream(orders) as (send, receive):
                await send([_place("bob", "b2", SELL, 50, 1_900_000)])
                report = await receive()
                assert (report.exec_type, report.client_order_id) == (
                    orders_pb2.EXEC_TYPE_NEW,
                    "b2",
                )
                await send([_place("bob", "b3", SELL, 0, 1_900_000)])
                report = await receive()
                assert report.exec_type == orders_pb2.EXEC_TYPE_REJECTED
            assert client.replica is not None
            assert client.replica.engine.state_hash() == core.engine.state_hash()

    asyncio.run(scenario())


def test_two_gateways_racing_with_one_client_order_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path) as (_, link),
            grpc_gateway(tmp_path, "g1") as (
                _,
                first,
            ),
            grpc_gateway(tmp_path, "g2") as (second_client, second),
            grpc.aio.insecure_channel(first) as one,
            grpc.aio.insecure_channel(second) as two,
        ):
            stub_one = orders_pb2_grpc.OrderServiceStub(one)
            stub_two = orders_pb2_grpc.OrderServiceStub(two)
            # Unary, at the same time: exactly one accepted.
            outcomes = await asyncio.gather(
                stub_one.PlaceOrder(_place("alice", "race", BUY, 100, 1_800_000)),
                stub_two.PlaceOrder(_place("alice", "race", BUY, 100, 1_800_000)),
                return_exceptions=True,
            )
            errors = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
            assert len(errors) == 1
            assert errors[0].code() is grpc.StatusCode.ALREADY_EXISTS
            assert _details(errors[0])[0] == "DUPLICATE_CLIENT_ORDER_ID"

            # Unary, the second gateway not knowing of the first use: the core refuses.
            async with held_back(second_client, link):
                await stub_one.PlaceOrder(_place("alice", "u1", BUY, 100, 1_800_000))
                late = asyncio.ensure_future(
                    stub_two.PlaceOrder(_place("alice", "u1", BUY, 100, 1_800_000))
                )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await late
            assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
            assert _details(caught.value)[0] == "DUPLICATE_CLIENT_ORDER_ID"

            # The stream, likewise: a REJECTED report with the reason and
            # what the refused request said (issue 16, item 4).
            async with _stream(stub_two) as (send, receive):
                async with held_back(second_client, link):
                    await stub_one.PlaceOrder(_place("alice", "s1", BUY, 100, 1_800_000))
                    await send([_place("alice", "s1", SELL, 300, 1_810_000)])
                # The stream follows alice: the first use's report, then the refusal.
                accepted = await receive()
                report = await receive()
            assert (accepted.exec_type, accepted.client_order_id) == (
                orders_pb2.EXEC_TYPE_NEW,
                "s1",
            )
            assert report.exec_type == orders_pb2.EXEC_TYPE_REJECTED
            assert report.report_sequence == 0
            assert report.order_status == orders_pb2.ORDER_STATUS_REJECTED
            assert report.client_order_id == "s1"
            assert report.reject_reason == common_pb2.REJECT_REASON_DUPLICATE_CLIENT_ORDER_ID
            assert "already used" in report.text
            assert (report.side, report.quantity, report.price, report.symbol) == (
                SELL, 300, 1_810_000, "AAPL",
            )  # fmt: skip
            assert (report.order_type, report.sequence) == (common_pb2.ORDER_TYPE_LIMIT, 0)
            history = await stub_two.ListExecutions(
                orders_pb2.ListExecutionsRequest(account_id="alice")
            )
            assert all(r.reject_reason == 0 for r in history.reports)

    asyncio.run(scenario())


class _Stream:
    """An order stream whose messages a test sends one at a time."""

    def __init__(self, stub: Stub) -> None:
        self._queue: asyncio.Queue[orders_pb2.OrderStreamRequest | None] = asyncio.Queue()
        self._responses = stub.OrderStream(self._requests()).__aiter__()
        self._received: list[orders_pb2.ExecutionReport] = []

    async def _requests(self) -> AsyncIterator[orders_pb2.OrderStreamRequest]:
        while (request := await self._queue.get()) is not None:
            yield request

    async def send(self, places: list[orders_pb2.PlaceOrderRequest]) -> None:
        commands = [orders_pb2.OrderCommand(place=place) for place in places]
        self._queue.put_nowait(orders_pb2.OrderStreamRequest(commands=commands))

    async def receive(self) -> orders_pb2.ExecutionReport:
        """The next report; heartbeats are passed over, for 10 s at most."""
        async with asyncio.timeout(10):
            while not self._received:
                response = await self._responses.__anext__()
                self._received.extend(response.reports)
        return self._received.pop(0)

    def close(self) -> None:
        self._queue.put_nowait(None)


@contextlib.asynccontextmanager
async def _stream(stub: Stub) -> AsyncIterator[tuple[Send, Receive]]:
    stream = _Stream(stub)
    try:
        yield stream.send, stream.receive
    finally:
        stream.close()


Send = Callable[[list[orders_pb2.PlaceOrderRequest]], Awaitable[None]]
Receive = Callable[[], Awaitable[orders_pb2.ExecutionReport]]


def test_a_gateway_without_its_core_answers_unavailable(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path) as (_, link),
            grpc_gateway(tmp_path, "g1") as (client, address),
            grpc.aio.insecure_channel(address) as channel,
        ):
            stub: Stub = orders_pb2_grpc.OrderServiceStub(channel)
            await stub.PlaceOrder(_place("alice", "a1", BUY, 100, 1_800_000))
            stream = _Stream(stub)
            await stream.send([_place("alice", "a2", BUY, 100, 1_800_000)])
            assert (await stream.receive()).client_order_id == "a2"
            await link.close()
            await _until_down(client)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.PlaceOrder(_place("alice", "a3", BUY, 100, 1_800_000))
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
            assert _details(caught.value)[0] == "CORE_UNAVAILABLE"
            await stream.send([_place("alice", "a4", BUY, 100, 1_800_000)])
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await stream.receive()
            assert ended.value.code() is grpc.StatusCode.UNAVAILABLE

    asyncio.run(scenario())


async def _until_down(client: CoreClient) -> None:
    async with asyncio.timeout(10):
        while client.transport is not None:
            await asyncio.sleep(0.01)
