"""The order stream reserves a client order id only for a command the
sequencer took: issue 14 found an id left "already used" until a restart
after a submit that raised (it was reserved first, and the exception
skipped the clean-up)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
import pytest
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import orders_pb2 as pb

from matching import Command
from server.gateways.grpc.stream import OrderStreamHandler


class RefusingSequencer:
    """A sequencer whose journal has failed: ``submit`` raises, as the real one does."""

    sequence = 0

    def now(self) -> int:
        return 1

    def submit(self, command: Command, client_order_id: str = "", origin: Any = None) -> NoReturn:
        raise RuntimeError("the journal failed; the sequencer accepts nothing more")

    def commit_now(self) -> None:
        pass

    async def durable(self) -> None:
        pass


class EmptyRegistry:
    def is_duplicate(self, account: str, client_order_id: str) -> bool:
        return False


class Core:
    def __init__(self) -> None:
        self.sequencer = RefusingSequencer()
        self.registry = EmptyRegistry()
        self.report_listeners: list[Any] = []


class Aborted(Exception):  # noqa: N818 - what the fake context raises, as grpc's does
    pass


class Context:
    def peer(self) -> str:
        return "ipv4:127.0.0.1:5000"

    def invocation_metadata(self) -> tuple[()]:
        return ()

    async def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        raise Aborted(code, details)


async def _one_order() -> AsyncIterator[pb.OrderStreamRequest]:
    order = pb.PlaceOrderRequest(
        account_id="ALICE",
        client_order_id="c1",
        symbol="AAPL",
        side=common_pb2.SIDE_BUY,
        order_type=common_pb2.ORDER_TYPE_LIMIT,
        quantity=100,
        price=1_890_500,
    )
    yield pb.OrderStreamRequest(commands=[pb.OrderCommand(place=order)])


def test_a_command_the_sequencer_refused_leaves_its_client_order_id_free() -> None:
    in_flight: set[tuple[str, str]] = set()
    handler = OrderStreamHandler(Core(), in_flight)  # type: ignore[arg-type]

    async def main() -> None:
        with pytest.raises(Aborted) as caught:
            async for _response in handler.serve(_one_order(), Context(), heartbeat=5.0):  # type: ignore[arg-type]
                pass
        assert caught.value.args[0] is grpc.StatusCode.INTERNAL  # a bug, said loudly

    asyncio.run(main())
    assert in_flight == set()
