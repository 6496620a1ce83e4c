"""Shared state and the event bus, in-process and on a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest
from stocktraderx.v1 import market_data_pb2

from server.bench.workload import OrderFlow, instruments
from server.consumers.projector import Projector
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.shared import BusEntry, EventBus, SharedState, open_shared
from server.store import open_store, schema

Backends = tuple[SharedState, EventBus]


@pytest.fixture(params=["memory", "redis"])
def shared_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return ""
    url: str = request.getfixturevalue("fresh_redis_url")
    return url


def _run(url: str, scenario: Callable[[SharedState, EventBus], Awaitable[None]]) -> None:
    async def main() -> None:
        shared, bus = await open_shared(url)
        try:
            await scenario(shared, bus)
        finally:
            await shared.close()
            await bus.close()

    asyncio.run(main())


def test_quotes_counters_and_revocations(shared_url: str) -> None:
    async def scenario(shared: SharedState, _bus: EventBus) -> None:
        assert await shared.get_quote("AAPL") is None
        await shared.put_quotes({"AAPL": b"one", "MSFT": b"two"})
        await shared.put_quotes({"AAPL": b"three"})
        assert await shared.get_quote("AAPL") == b"three"
        assert await shared.get_quote("MSFT") == b"two"
        counts = [await shared.hit("login:alice", 3600) for _ in range(3)]
        assert counts == [1, 2, 3]
        assert await shared.hit("login:bob", 3600) == 1
        assert await shared.count("login:alice", 3600) == 3
        assert await shared.count("login:carol", 3600) == 0
        await shared.revoke("token-1", time.time() + 60)
        await shared.revoke("token-2", time.time() - 1)  # already expired
        assert await shared.is_revoked("token-1")
        assert not await shared.is_revoked("token-2")
        assert not await shared.is_revoked("token-3")
        # A disabled user enabled again: the id leaves the set, once and for all.
        await shared.revoke("user:u1", time.time() + 60)
        await shared.reinstate("user:u1")
        await shared.reinstate("user:never-revoked")
        assert not await shared.is_revoked("user:u1")
        assert await shared.is_revoked("token-1")

    _run(shared_url, scenario)


def test_every_process_hears_of_a_revocation_at_once(shared_url: str) -> None:
    """With Redis a second client (another gateway process) is told too."""

    async def main() -> None:
        first, first_bus = await open_shared(shared_url)
        second, _ = await open_shared(shared_url) if shared_url else (first, first_bus)
        try:
            heard: dict[str, asyncio.Queue[str]] = {
                "first": asyncio.Queue(),
                "second": asyncio.Queue(),
            }
            await first.watch_revocations(heard["first"].put_nowait)
            await second.watch_revocations(heard["second"].put_nowait)
            started = time.perf_counter()
            await first.revoke("token-9", time.time() + 60)
            assert heard["first"].get_nowait() == "token-9"  # its own, before revoke returns
            assert await asyncio.wait_for(heard["second"].get(), 1) == "token-9"
            assert time.perf_counter() - started < 0.5
            assert await second.is_revoked("token-8", "token-9")
            assert not await second.is_revoked("token-8")
        finally:
            for state in {first, second}:
                await state.close()

    asyncio.run(main())


def _entry(sequence: int, index: int = 0) -> BusEntry:
    return BusEntry(f"{sequence}-{index}", {"sequence": str(sequence), "type": "T", "data": "{}"})


def test_the_bus_drops_repeats_and_shares_work_in_a_group(shared_url: str) -> None:
    async def scenario(_shared: SharedState, bus: EventBus) -> None:
        await bus.ensure_group("trades", "ledger")
        await bus.publish("trades", [_entry(1), _entry(1, 1), _entry(2)])
        # A publisher resuming after a crash (a new connection, for Redis) repeats 2.
        resumed_shared, resumed = await open_shared(shared_url) if shared_url else (_shared, bus)
        await resumed.publish("trades", [_entry(2), _entry(3)])
        if shared_url:
            await resumed_shared.close()
        assert await bus.last_id("trades") == "3-0"
        first = await bus.read_group("trades", "ledger", "worker-a", count=2)
        second = await bus.read_group("trades", "ledger", "worker-b", count=10)
        assert [entry.id for entry in first] == ["1-0", "1-1"]
        assert [entry.id for entry in second] == ["2-0", "3-0"]
        assert await bus.ack("trades", "ledger", [entry.id for entry in first + second]) == 4
        assert await bus.read_group("trades", "ledger", "worker-a", count=10) == []
        await bus.ensure_group("trades", "audit")  # a second group reads everything
        await bus.ensure_group("trades", "audit")  # and creating it twice is harmless
        everything = await bus.read_group("trades", "audit", "one", count=10)
        assert len(everything) == 4
        assert everything[0].fields == {"sequence": "1", "type": "T", "data": "{}"}

    _run(shared_url, scenario)


def test_the_projector_feeds_the_bus_and_the_quotes(shared_url: str, tmp_path: Path) -> None:
    async def scenario(shared: SharedState, bus: EventBus) -> None:
        data = tmp_path / "data"
        store = await open_store(f"sqlite:///{tmp_path / 'stx.db'}")
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        flow = OrderFlow(core.engine, 5)
        for _ in range(600):
            command = flow.next_command()._replace(timestamp=core.sequencer.now())
            flow.observe(core.sequencer.submit(command).events)
        await core.sequencer.durable()
        for attempt in range(2):  # the second projector repeats everything: no duplicates
            if attempt:
                async with store.engine.begin() as connection:
                    for table in reversed(schema.metadata.sorted_tables):
                        await connection.execute(table.delete())
            projector = Projector(
                store, data, committed=lambda: core.sequencer.durable_sequence,
                bus=bus, shared=shared,
            )  # fmt: skip
            await projector.start()
            await projector.caught_up(core.sequencer.sequence)
            await projector.stop()
        for stream, table in (
            ("orders", schema.order_events),
            ("executions", schema.executions),
            ("trades", schema.trades),
        ):
            await bus.ensure_group(stream, "check")
            entries = await bus.read_group(stream, "check", "c", count=100_000)
            assert len(entries) == await store.count(table), stream
            ids = [tuple(map(int, entry.id.split("-"))) for entry in entries]
            assert ids == sorted(ids)
        trade = orjson.loads(entries[-1].fields["data"])
        assert isinstance(trade["price"], str)  # decimal strings at this edge
        symbol = trade["symbol"]
        quote = market_data_pb2.Quote.FromString(await shared.get_quote(symbol) or b"")
        assert quote.symbol == symbol
        assert quote.last_price == core.market.markets[symbol].last_price
        await core.close()
        await store.close()

    _run(shared_url, scenario)
