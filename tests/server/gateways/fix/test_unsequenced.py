"""FIX requests the engine never saw are answered, not left without a reply.

A gateway's request may fail to be sequenced without any engine rejection:
the core is not connected, the core turns it away (sync replication with no
standby in step), or the connection drops before the core answers. The gRPC
services answer UNAVAILABLE; a FIX counterparty gets a rejected
ExecutionReport (or an OrderCancelReject) saying the request was not
applied, and nothing when it was. Run over real sockets: the FIX acceptor,
and a core with its link in a scratch data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matching import Command, Engine, Event
from server.bench.workload import instruments
from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase
from server.journal.codec import Origin
from server.link.remote import LOST
from server.model.registry import OrderRegistry, Report
from server.model.sequenced import Sequenced
from server.model.view import CoreUnavailableError, CoreView
from tests.server.gateways.fix.client import Client
from tests.server.link.harness import core_with_link, fund, gateway

ID = SessionID("FIX.4.4", "STX", "FAY")
ACCOUNT = "ACC001"


def _order(cl_ord_id: str) -> list[tuple[int, str]]:
    now = datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S")
    return [(1, ACCOUNT), (11, cl_ord_id), (38, "100"), (40, "2"), (44, "190.00"),
            (54, "1"), (55, "AAPL"), (60, now)]  # fmt: skip


@contextlib.asynccontextmanager
async def _fix_session(core: CoreView, directory: Path) -> AsyncIterator[Client]:
    """A FIX acceptor on ``core`` and a counterparty logged on to it."""
    store = StoreDatabase(directory / "fix.db")
    spec = dictionary.load(ID.begin_string)
    application = ExchangeApplication(core, {ID: (ACCOUNT,)})
    session = Session(ID, spec, store.store(str(ID)), application, SessionSettings())
    application.serve(session)
    acceptor = Acceptor([session], store.commit)
    try:
        port = await acceptor.start("127.0.0.1", 0)
        client = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
        client.send("A", (98, "0"), (108, "30"))
        assert (await client.read())[35] == "A"
        yield client
        client.writer.close()
    finally:
        await acceptor.stop()
        store.close()


def test_an_order_the_core_turns_away_unsequenced_is_rejected_with_its_words(
    tmp_path: Path,
) -> None:
    refusing: list[str] = []

    async def scenario() -> None:
        link = {"admission": lambda: refusing[0] if refusing else None}
        async with (
            core_with_link(tmp_path, link=link),
            gateway(tmp_path) as (client, remote),
        ):
            assert client.replica is not None
            await fund(remote, ACCOUNT)
            async with _fix_session(client.replica, tmp_path) as fix:
                fix.send("D", *_order("o1"))
                new = await fix.read()
                assert (new[35], new[150], new[11]) == ("8", "0", "o1")

                refusing.append("sync replication: no standby in step")
                fix.send("D", *_order("o2"))
                rejected = await fix.read()
                assert (rejected[35], rejected[150], rejected[39], rejected[11]) == (
                    "8", "8", "8", "o2",
                )  # fmt: skip
                assert rejected[58] == "sync replication: no standby in step"

                fix.send("F", (1, ACCOUNT), (11, "c1"), (41, "o1"), (54, "1"), (55, "AAPL"),
                         (60, datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S")))  # fmt: skip
                cancel_rejected = await fix.read()
                assert (cancel_rejected[35], cancel_rejected[11], cancel_rejected[41]) == (
                    "9", "c1", "o1",
                )  # fmt: skip
                assert cancel_rejected[58] == "sync replication: no standby in step"

    asyncio.run(scenario())


def test_an_order_sent_while_the_core_is_away_is_rejected_as_not_applied(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with (
            gateway_without_core(tmp_path) as core,
            _fix_session(core, tmp_path) as fix,
        ):
            fix.send("D", *_order("o1"))
            rejected = await fix.read()
            assert (rejected[35], rejected[150], rejected[11]) == ("8", "8", "o1")
            assert "not applied" in rejected[58]

    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def gateway_without_core(directory: Path) -> AsyncIterator[CoreView]:
    """A gateway whose core went away after it had connected."""
    async with core_with_link(directory) as (_, server), gateway(directory) as (client, _):
        assert client.replica is not None
        await server.close()
        while client.ready.is_set():
            await asyncio.sleep(0.01)
        yield client.replica


class _LostSequencer:
    """A sequencer whose connection drops before the core answers, and
    which is back (caught up) when asked: the outcome is the registry's."""

    def __init__(self, catch_up: Callable[[list[_Lost]], None]) -> None:
        self.submitted: list[_Lost] = []
        self.catch_up = catch_up
        """What the journal held when the link came back, applied to the registry."""
        self.asked = asyncio.Event()

    @property
    def sequence(self) -> int:
        return 0

    @property
    def durable_sequence(self) -> int:
        return 0

    def now(self) -> int:
        return 1

    def submit(
        self, command: Command, client_order_id: str = "", origin: Origin | None = None
    ) -> _Lost:
        lost = _Lost(command, client_order_id)
        self.submitted.append(lost)
        return lost

    def commit_now(self) -> None:
        return None

    def mark(self) -> int:
        return 0

    async def durable(self, mark: int | None = None) -> None:
        raise CoreUnavailableError("core unavailable: the connection dropped before it answered")

    async def available(self) -> None:
        self.catch_up(self.submitted)
        self.asked.set()


class _Lost:
    def __init__(self, command: Command, client_order_id: str) -> None:
        self.sequence = LOST
        self.command = command
        self.events: list[Event] = []
        self.client_order_id = client_order_id


class _LostCore:
    """What the FIX application reads of the exchange: a real registry, a
    sequencer that loses every answer."""

    def __init__(self, catch_up: Callable[[list[_Lost]], None] = lambda _: None) -> None:
        self.registry = OrderRegistry()
        self.sequencer = _LostSequencer(catch_up)
        self.report_listeners: list[Callable[[list[Report]], None]] = []
        self.market_listeners: list[Callable[[list[Any]], None]] = []
        self.engine: Any = None
        self.market: Any = None


def test_a_request_whose_answer_a_drop_took_is_rejected_once_known_unapplied(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        core = _LostCore()
        async with _fix_session(core, tmp_path) as fix:
            fix.send("D", *_order("o1"))
            rejected = await fix.read()
            assert (rejected[35], rejected[150], rejected[11]) == ("8", "8", "o1")
            assert "dropped before the request was sequenced" in rejected[58]

    asyncio.run(scenario())


def test_a_request_whose_answer_a_drop_took_but_that_was_applied_gets_no_refusal(
    tmp_path: Path,
) -> None:
    """The core journaled it before the drop: its reports came with the catch-up."""
    engine = Engine(instruments())

    async def scenario() -> None:
        def journaled(submitted: list[_Lost]) -> None:
            batch = [
                Sequenced(sequence, lost.command, engine.process(lost.command),
                          lost.client_order_id)
                for sequence, lost in enumerate(submitted, 1)
            ]  # fmt: skip
            assert core.registry.apply(batch)

        core = _LostCore(journaled)
        async with _fix_session(core, tmp_path) as fix:
            fix.send("D", *_order("o1"))
            await core.sequencer.asked.wait()
            for _ in range(3):  # the settling task's last steps
                await asyncio.sleep(0)
            fix.send("1", (112, "after-o1"))
            answer = await fix.read()
            assert (answer[35], answer[112]) == ("0", "after-o1")

    asyncio.run(scenario())
