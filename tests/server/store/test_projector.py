"""The write-behind projector: complete, idempotent, and patient with the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.bench.workload import OrderFlow, instruments
from server.consumers.projector import Projector, StoreAheadError
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.check import examine
from server.journal.repair import apply_repair, plan_repair
from server.store import Store, open_store, schema
from server.store.batch import ProjectionBatch
from tests.server.store.journal_check import check_store_matches_journal
from tests.throwaway import PostgresServer


async def _trade(core: ExchangeCore, count: int, seed: int = 1) -> None:
    flow = OrderFlow(core.engine, seed)
    for index in range(count):
        command = flow.next_command()._replace(timestamp=core.sequencer.now())
        flow.observe(core.sequencer.submit(command).events)
        if index % 50 == 49:
            await core.sequencer.durable()
    await core.sequencer.durable()
    await core.settle()


def _projector(core: ExchangeCore, store: Store, directory: Path) -> Projector:
    sequencer = core.sequencer
    projector = Projector(store, directory, committed=lambda: sequencer.durable_sequence)
    sequencer.add_listener(projector.notify)
    core.needed_from = projector.needed_from
    return projector


def test_the_store_holds_exactly_what_the_journal_says(store_url: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(store_url)
        core = ExchangeCore.open(tmp_path / "data", instruments(), durability=Durability.NONE)
        projector = _projector(core, store, tmp_path / "data")
        await projector.start()
        await _trade(core, 1_500)
        await projector.caught_up(core.sequencer.sequence)
        await projector.stop()
        await check_store_matches_journal(store, tmp_path / "data")
        await core.close()
        await store.close()

    asyncio.run(scenario())


def test_a_restarted_projector_resumes_without_gaps_or_duplicates(
    store_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        data = tmp_path / "data"
        store = await open_store(store_url)
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        first = _projector(core, store, data)
        first.batch_commands = 97  # many small transactions: a stop lands between two
        await first.start()
        await _trade(core, 800, seed=2)
        while first.position < 300:
            await asyncio.sleep(0.005)
        await first.stop()  # as a crash would: mid-stream, between transactions
        stopped_at = first.position
        assert 0 < stopped_at < core.sequencer.sequence
        await _trade(core, 400, seed=3)
        second = _projector(core, store, data)
        await second.start()
        assert second.position == stopped_at
        await second.caught_up(core.sequencer.sequence)
        await second.stop()
        await check_store_matches_journal(store, data)
        await core.close()
        await store.close()

    asyncio.run(scenario())


class UnreachableStore(Store):
    """A store whose database is away until ``reachable`` is set."""

    reachable = False
    refused = 0

    async def write(self, batch: ProjectionBatch) -> None:
        if not self.reachable:
            self.refused += 1
            raise ConnectionRefusedError("database away")
        await super().write(batch)


def test_trading_goes_on_while_the_database_is_away_and_the_store_catches_up(
    store_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        data = tmp_path / "data"
        real = await open_store(store_url)
        store = UnreachableStore(real.engine)
        core = ExchangeCore.open(
            data, instruments(), durability=Durability.NONE, snapshot_every=300
        )
        projector = _projector(core, store, data)
        await projector.start()
        # Trade until snapshots would have pruned the journal's beginning.
        for seed in range(4, 20):
            await _trade(core, 400, seed=seed)
            if len(list(data.glob("snapshot-*.json"))) >= 3:
                break
        while store.refused < 2:
            await asyncio.sleep(0.01)
        assert projector.position == 0
        assert len(list(data.glob("snapshot-*.json"))) >= 3
        # Nothing the projector needs was pruned: the journal still starts at 1.
        assert (data / f"journal-{1:020d}.log").exists()
        store.reachable = True
        await projector.caught_up(core.sequencer.sequence)
        await projector.stop()
        assert await store.position() == core.sequencer.sequence
        assert await store.count(schema.audit_log) == core.sequencer.sequence
        await core.close()
        await store.close()

    asyncio.run(scenario())


def test_postgresql_stopped_during_load_loses_and_doubles_nothing(
    postgres_server: PostgresServer, fresh_postgres_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        data = tmp_path / "data"
        store = await open_store(fresh_postgres_url)
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        projector = _projector(core, store, data)
        projector.batch_commands = 200
        await projector.start()
        await _trade(core, 600, seed=21)
        await asyncio.to_thread(postgres_server.stop)
        try:
            await _trade(core, 1_500, seed=22)  # trading goes on without the database
            while projector.failures == 0:
                await asyncio.sleep(0.05)
            assert projector.position < core.sequencer.sequence
        finally:
            await asyncio.to_thread(postgres_server.start)
        await projector.caught_up(core.sequencer.sequence, timeout=60)
        await projector.stop()
        await check_store_matches_journal(store, data)
        await core.close()
        await store.close()

    asyncio.run(scenario())


def test_a_store_ahead_of_a_repaired_journal_is_refused(tmp_path: Path) -> None:
    """After `stx journal repair` cut records the store already has, the
    projector must not follow the journal's new records over them."""

    async def scenario() -> None:
        data = tmp_path / "data"
        store = await open_store(f"sqlite:///{tmp_path / 'stx.db'}")
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        projector = _projector(core, store, data)
        await projector.start()
        await _trade(core, 300, seed=4)
        await projector.caught_up(core.sequencer.sequence)
        await projector.stop()
        await core.close(final_snapshot=False)
        (segment,) = data.glob("journal-*.log")
        damaged = bytearray(segment.read_bytes())
        damaged[len(damaged) // 2] ^= 0x01
        segment.write_bytes(bytes(damaged))
        apply_repair(plan_repair(examine(data)))
        reopened = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        end = reopened.sequencer.durable_sequence
        assert end < projector.position
        with pytest.raises(StoreAheadError, match=f"up to sequence {projector.position}, but "
                           f"the journal ends at {end}"):  # fmt: skip
            await _projector(reopened, store, data).start()
        await reopened.close(final_snapshot=False)
        await store.close()

    asyncio.run(scenario())
