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
from server.gateways.grpc.stream import MESSAGES_IN_FLIGHT, OrderStreamHandler
from server.model.view import CoreUnavailableError


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

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: object = ()
    ) -> NoReturn:
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


class VanishingCore:
    """A core across the link that takes commands, then goes away before it
    answers any (``durable`` raises as ``RemoteSequencer``'s does)."""

    def __init__(self) -> None:
        self.sequence = 0
        self.gone = asyncio.Event()

    def now(self) -> int:
        return 1

    def submit(self, command: Command, client_order_id: str = "", origin: Any = None) -> Any:
        self.sequence += 1
        return _Pending(command, client_order_id)

    def commit_now(self) -> None:
        pass

    def mark(self) -> int:
        return self.sequence

    async def durable(self, mark: int | None = None) -> None:
        await self.gone.wait()
        raise CoreUnavailableError("core unavailable")


class _Pending:
    def __init__(self, command: Command, client_order_id: str) -> None:
        self.sequence = 0
        self.command = command
        self.events: list[Any] = []
        self.client_order_id = client_order_id


async def _orders(count: int, sent: asyncio.Event) -> AsyncIterator[pb.OrderStreamRequest]:
    for number in range(count):
        order = pb.PlaceOrderRequest(
            account_id="ALICE", client_order_id=f"c{number}", symbol="AAPL",
            side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
            quantity=100, price=1_890_500,
        )  # fmt: skip
        yield pb.OrderStreamRequest(commands=[pb.OrderCommand(place=order)])
    sent.set()
    await asyncio.Event().wait()  # the client keeps the stream open


def test_ids_entered_when_the_core_went_away_are_all_released() -> None:
    # More messages than may wait for their commit: the reader is held on a
    # full queue when the core goes away, and the message it then puts must
    # not keep its id reserved for good.
    sequencer = VanishingCore()
    core = Core()
    core.sequencer = sequencer  # type: ignore[assignment]
    in_flight: set[tuple[str, str]] = set()
    handler = OrderStreamHandler(core, in_flight)  # type: ignore[arg-type]

    async def main() -> None:
        sent = asyncio.Event()
        served = handler.serve(_orders(MESSAGES_IN_FLIGHT + 5, sent), Context(), heartbeat=5.0)  # type: ignore[arg-type]

        async def consume() -> None:
            async for _response in served:
                pass

        task = asyncio.ensure_future(consume())
        while len(in_flight) < MESSAGES_IN_FLIGHT:
            await asyncio.sleep(0.01)
        assert not sent.is_set()  # the reader waits for room
        sequencer.gone.set()
        with pytest.raises(Aborted) as caught:
            await task
        assert caught.value.args[0] is grpc.StatusCode.UNAVAILABLE
        await asyncio.sleep(0.05)  # the reader's last put and its release

    asyncio.run(main())
    assert in_flight == set()
