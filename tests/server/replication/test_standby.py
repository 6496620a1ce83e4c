"""A hot standby following a primary core over TCP: same journal, same state, and
in sync mode nothing acknowledged that the standby has not made durable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from matching import FundAccount, NewOrder, OrderType, Side, TimeInForce
from server.bench.workload import OrderFlow
from server.link.remote import LOST, RemoteSequencer
from server.link.replica import Replica
from server.replication.primary import TERM
from server.replication.standby import ReplicationDivergedError
from tests.server.link.harness import fund, gateway
from tests.server.replication.harness import (
    PausableFsync,
    free_port,
    primary,
    replayed_hash,
    same_journal,
    standby,
    until,
)


async def _flow(remote: RemoteSequencer, replica: Replica, count: int, seed: int) -> None:
    flow = OrderFlow(replica.engine, seed)
    pending = []
    for index in range(count):
        pending.append(remote.submit(flow.next_command(), f"c{seed}-{index}"))
        if index % 5 == 4:
            await remote.durable()
            for item in pending:
                flow.observe(item.events)
            pending.clear()
    await remote.durable()


def _order(now: int, account: str = "alice") -> NewOrder:
    return NewOrder(
        now, account, "AAPL", Side.BUY, OrderType.LIMIT, 100, 1_800_000, TimeInForce.DAY
    )


def test_a_standby_follows_under_orders_with_the_same_journal_and_state(tmp_path: Path) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"

    async def scenario() -> None:
        async with (
            primary(main, hash_every=40) as (core, server),
            standby(spare, server.port) as follower,
            gateway(main) as (client, remote),
        ):
            assert client.replica is not None
            await fund(remote, "alice", "bob", "carol")
            await _flow(remote, client.replica, 300, seed=7)
            await until(lambda: follower.durable == core.sequencer.durable_sequence, "level")
            assert follower.term == TERM
            assert follower.hashes_checked >= 5  # compared along the way, not only at the end
            assert follower.state.engine.state_hash() == core.engine.state_hash()
            await until(lambda: server.acked == core.sequencer.durable_sequence, "acked")
            assert server.lag() == (0, 0.0)
        same_journal(spare, main)
        assert replayed_hash(spare) == replayed_hash(main)

    asyncio.run(scenario())


def test_a_standby_connecting_late_catches_up_from_the_journal_then_follows(
    tmp_path: Path,
) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"

    async def scenario() -> None:
        async with (
            primary(main, hash_every=25) as (core, server),
            gateway(main) as (client, remote),
        ):
            assert client.replica is not None
            await fund(remote, "alice", "bob", "carol")
            await _flow(remote, client.replica, 200, seed=3)
            behind = core.sequencer.durable_sequence
            async with standby(spare, server.port) as follower:
                await until(lambda: follower.durable == behind, "caught up")
                await _flow(remote, client.replica, 100, seed=4)
                await until(lambda: follower.durable == core.sequencer.durable_sequence, "level")
                assert follower.state.engine.state_hash() == core.engine.state_hash()
                assert follower.hashes_checked >= 1
        same_journal(spare, main)

    asyncio.run(scenario())


def test_a_restarted_standby_and_a_restarted_primary_resume_without_gap_or_duplicate(
    tmp_path: Path,
) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"
    port = free_port()

    async def scenario() -> None:
        async with (
            primary(main, port, hash_every=30) as (core, server),
            gateway(main) as (client, remote),
        ):
            assert client.replica is not None
            await fund(remote, "alice", "bob", "carol")
            async with standby(spare, port, snapshot_every=60) as follower:
                await _flow(remote, client.replica, 100, seed=11)
                await until(lambda: follower.durable == core.sequencer.durable_sequence, "level")
                # Written by a forked child, off the loop that acknowledges batches.
                await until(lambda: follower.snapshots >= 1, "a background snapshot")
            await _flow(remote, client.replica, 100, seed=12)  # the standby is down
            behind, seconds = server.lag()
            assert behind == core.sequencer.durable_sequence - follower.durable > 0
            assert seconds > 0
            assert list(spare.glob("snapshot-*"))  # it restarts from its own snapshot
            async with standby(spare, port, snapshot_every=60) as follower:
                await until(lambda: follower.connections == 1, "reconnected")
                await _flow(remote, client.replica, 50, seed=13)
                await until(lambda: follower.durable == core.sequencer.durable_sequence, "level")
        same_journal(spare, main)
        # The primary stops and comes back on the same address: the standby reconnects.
        async with standby(spare, port) as follower:
            async with primary(main, port, hash_every=30):
                await until(lambda: follower.connections == 1, "connected")
            async with primary(main, port, hash_every=30) as (core, _):
                await until(lambda: follower.connections == 2, "reconnected")
                sequencer = core.sequencer
                sequencer.submit(FundAccount(sequencer.now(), "dave", 1_000))
                await sequencer.durable()
                await until(lambda: follower.durable == sequencer.durable_sequence, "level")
                assert follower.state.engine.state_hash() == core.engine.state_hash()
        same_journal(spare, main)
        assert replayed_hash(spare) == replayed_hash(main)

    asyncio.run(scenario())


def test_a_standby_whose_state_differs_stops_loudly(tmp_path: Path) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"

    async def scenario() -> None:
        async with (
            primary(main, hash_every=10) as (core, server),
            gateway(main) as (client, remote),
        ):
            assert client.replica is not None
            await fund(remote, "alice", "bob", "carol")
            async with standby(spare, server.port) as follower:
                await until(lambda: follower.durable == core.sequencer.durable_sequence, "level")
                # Corrupt the standby's engine behind the journal's back.
                follower.state.engine.process(FundAccount(core.engine.now, "mallory", 1))
                await _flow(remote, client.replica, 30, seed=5)
                with pytest.raises(ReplicationDivergedError, match="state hash at sequence"):
                    await asyncio.wait_for(follower.task, 10)

    asyncio.run(scenario())


def test_sync_mode_acknowledges_an_order_only_once_the_standby_has_it_durable(
    tmp_path: Path,
) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"
    fsync = PausableFsync()

    async def scenario() -> None:
        async with (
            primary(main, mode="sync", timeout_ms=5_000) as (core, server),
            standby(spare, server.port, fsync) as follower,
            gateway(main) as (_, remote),
        ):
            await until(lambda: server.in_step, "in step")
            await fund(remote, "alice")
            fsync.running.clear()
            before = core.sequencer.sequence
            order = remote.submit(_order(remote.now()), "o1")
            answered = asyncio.ensure_future(remote.durable())
            # Committed by the primary and received by the standby, not durable there.
            await until(lambda: follower.sequence == core.sequencer.sequence > before, "received")
            assert core.sequencer.durable_sequence == follower.sequence > follower.durable
            assert server.acked < core.sequencer.durable_sequence
            assert not answered.done()
            assert order.sequence == 0
            fsync.running.set()
            await asyncio.wait_for(answered, 10)
            assert order.sequence == follower.durable

    asyncio.run(scenario())


def test_sync_mode_refuses_orders_while_no_standby_is_in_step(tmp_path: Path) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"
    fsync = PausableFsync()

    async def scenario() -> None:
        async with (
            primary(main, mode="sync", timeout_ms=100) as (_core, server),
            gateway(main) as (_, remote),
        ):
            # No standby at all: refused, unsequenced, as unavailable.
            refused = remote.submit(_order(remote.now()), "o1")
            await remote.durable()
            assert refused.sequence == LOST
            assert "replication unavailable" in str(refused.events[0])
            assert server.refused == 1
            async with standby(spare, server.port, fsync):
                await until(lambda: server.in_step, "in step")
                await fund(remote, "alice")
                # A standby that stops acknowledging is out of step after the timeout.
                fsync.running.clear()
                held = remote.submit(_order(remote.now()), "o2")
                waiting = asyncio.ensure_future(remote.durable())
                await until(lambda: not server.in_step, "out of step")
                later = remote.submit(_order(remote.now()), "o3")
                await until(lambda: later.sequence == LOST, "o3 refused")
                assert not waiting.done()
                assert held.sequence == 0
                fsync.running.set()
                await asyncio.wait_for(waiting, 10)
                assert held.sequence > 0
                assert server.in_step
                assert server.degraded == 0

    asyncio.run(scenario())


def test_sync_mode_set_to_degrade_acknowledges_without_a_standby_and_counts_it(
    tmp_path: Path,
) -> None:
    main = tmp_path / "primary"

    async def scenario() -> None:
        async with (
            primary(main, mode="sync", on_timeout="degrade", timeout_ms=100) as (_, server),
            gateway(main) as (_, remote),
        ):
            await fund(remote, "alice")
            order = remote.submit(_order(remote.now()), "o1")
            await asyncio.wait_for(remote.durable(), 10)
            assert order.sequence > 0
            assert server.refused == 0
            assert server.degraded

    asyncio.run(scenario())
