"""The link when something goes wrong: a consumer that stops reading, a
client that arrives mid-flow, a core killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from matching import NewOrder, OrderType, Side, TimeInForce
from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import encode
from server.journal.files import list_segments
from server.link.client import CoreClient
from server.link.frames import Kind, control, run
from server.link.remote import Pending, RemoteSequencer
from server.link.replica import Replica
from server.model.sequenced import Sequenced
from server.model.view import CoreUnavailableError
from tests.server.link.harness import consumer, core_with_link, fund, gateway, same_state

ROOT = Path(__file__).resolve().parents[3]


def _order(now: int, index: int) -> NewOrder:
    side = Side.BUY if index % 2 else Side.SELL
    price = 1_899_000 + (index % 20) * 100 if side is Side.BUY else 1_901_000 + (index % 20) * 100
    return NewOrder(
        now, f"T{index % 4}", "AAPL", side, OrderType.LIMIT, 100, price, TimeInForce.DAY
    )


async def _flow(
    remote: RemoteSequencer, count: int, per_frame: int = 100, prefix: str = "o"
) -> list[Pending]:
    answered = []
    for start in range(0, count, per_frame):
        batch = [
            remote.submit(_order(remote.now(), index), f"{prefix}{index}")
            for index in range(start, min(count, start + per_frame))
        ]
        await remote.durable()
        answered += batch
    return answered


def _recorder(replica: Replica) -> list[int]:
    """Every sequence the replica's listeners are handed, in order."""
    seen: list[int] = []

    def record(batch: list[Sequenced]) -> None:
        seen.extend(item.sequence for item in batch)

    replica.batch_listeners.append(record)
    return seen


async def _until(condition: object, what: str) -> None:
    assert callable(condition)
    for _ in range(4000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_consumer_that_stops_reading_is_dropped_and_catches_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path, link={"lag_limit": 16 * 1024}) as (core, link),
            gateway(tmp_path) as (_, remote),
            consumer(tmp_path) as slow,
        ):
            assert slow.replica is not None
            seen = _recorder(slow.replica)
            start = slow.replica.sequence + 1
            await fund(remote, "T0", "T1", "T2", "T3")
            transport = slow.transport
            assert transport is not None
            transport.pause_reading()
            # The core answers the gateway throughout: it never waits for the consumer.
            answered = await _flow(remote, 10_000)
            assert all(pending.sequence for pending in answered)
            assert link.dropped == 1
            assert core.sequencer.durable_sequence == answered[-1].sequence
            transport.resume_reading()
            await _until(lambda: slow.position == core.sequencer.durable_sequence, "catch-up")
            assert slow.connections == 2
            assert slow.caught_up > 0
            same_state(core, slow.replica)
            assert seen == list(range(start, core.sequencer.durable_sequence + 1))

    asyncio.run(scenario())


def test_a_client_connecting_mid_flow_has_every_record_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with core_with_link(tmp_path) as (core, _), gateway(tmp_path) as (_, remote):
            await fund(remote, "T0", "T1", "T2", "T3")
            flow = asyncio.ensure_future(_flow(remote, 4_000, per_frame=20))
            await _until(lambda: core.sequencer.durable_sequence > 1_000, "trading")
            late = CoreClient(tmp_path, Replica.open(tmp_path), name="late")
            assert late.replica is not None
            seen = _recorder(late.replica)
            await late.start()
            try:
                await late.wait_ready(timeout=10)
                assert not flow.done()  # it joined mid-flow
                await flow
                await _until(lambda: late.position == core.sequencer.durable_sequence, "the end")
                assert seen == list(range(1, core.sequencer.durable_sequence + 1))
                assert late.caught_up > 0
                same_state(core, late.replica)
            finally:
                await late.stop()

    asyncio.run(scenario())


def test_positions_only_follows_what_is_committed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with core_with_link(tmp_path) as (core, _), gateway(tmp_path) as (_, remote):
            follower = CoreClient(tmp_path, None, name="projector")
            positions: list[int] = []
            follower.position_listeners.append(positions.append)
            await follower.start()
            try:
                await follower.wait_ready(timeout=10)
                await fund(remote, "T0", "T1", "T2", "T3")
                await _flow(remote, 300)
                await _until(lambda: follower.position == core.sequencer.durable_sequence, "it")
                assert positions == sorted(set(positions))
                assert follower.caught_up == 0
            finally:
                await follower.stop()

    asyncio.run(scenario())


def _start_core(directory: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.server.link.core_process", str(directory)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise AssertionError(f"the core process did not start (exit {process.wait()})")
    return process


def test_a_killed_core_fails_pending_requests_and_loses_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    first = _start_core(tmp_path)
    second: subprocess.Popen[str] | None = None
    acknowledged: list[Pending] = []

    async def scenario() -> None:
        nonlocal second
        client = CoreClient(
            tmp_path, Replica.open(tmp_path), role="gateway", name="g", retry_max=0.1
        )
        remote = RemoteSequencer(client)
        await client.start()
        try:
            await client.wait_ready(timeout=20)
            await fund(remote, "T0", "T1", "T2", "T3")
            failures = 0
            index = 0
            killed = False
            while failures == 0:
                batch = [
                    remote.submit(_order(remote.now(), index + n), f"k{index + n}")
                    for n in range(50)
                ]
                index += 50
                if index == 2_000 and not killed:
                    os.kill(first.pid, signal.SIGKILL)
                    killed = True
                try:
                    await asyncio.wait_for(remote.durable(), 10)
                except CoreUnavailableError:
                    failures += 1
                else:
                    acknowledged.extend(batch)
            assert killed
            remote.submit(_order(remote.now(), 0), "while-down")
            with pytest.raises(CoreUnavailableError):
                await remote.durable()
            second = await asyncio.to_thread(_start_core, tmp_path)
            await client.wait_ready(timeout=20)
            assert client.connections == 2
            # Resent with their ids: the ones the core had are refused, the rest applied.
            again = [remote.submit(_order(remote.now(), n), f"k{n}") for n in range(index)]
            await remote.durable()
            assert all(pending.sequence == 0 for pending in again[: len(acknowledged)])
            replica = client.replica
            assert replica is not None
            for pending in acknowledged:
                command = pending.command
                assert isinstance(command, NewOrder)
                assert replica.registry.is_duplicate(command.account, pending.client_order_id)
        finally:
            await client.stop()
        assert second is not None
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0
        reopened = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        assert reopened.engine.state_hash() == replica.engine.state_hash()
        assert reopened.sequencer.sequence == replica.sequence
        reopened.writer.close_sync()

    try:
        asyncio.run(scenario())
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert len(acknowledged) >= 1_900


def test_a_replica_behind_a_pruned_journal_starts_again_from_a_snapshot(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path, snapshot_every=500) as (core, _),
            gateway(tmp_path) as (_, remote),
        ):
            await fund(remote, "T0", "T1", "T2", "T3")
            stale = Replica.open(tmp_path)
            for round_number in range(5):
                await _flow(remote, 600, prefix=f"r{round_number}-")
                await core.settle()
            # The newest snapshot holds everything: the reset leaves nothing to read.
            core.snapshot()
            assert list_segments(tmp_path)[0][0] > stale.sequence + 1  # pruned past it
            resets: list[int] = []
            stale.reset_listeners.append(lambda: resets.append(stale.sequence))
            behind = CoreClient(tmp_path, stale, name="behind")
            await behind.start()
            try:
                await behind.wait_ready(timeout=20)
                assert resets == [core.sequencer.durable_sequence]
                assert behind.position == core.sequencer.durable_sequence
                await _flow(remote, 300, prefix="after-")  # and on, live
                await _until(lambda: behind.position == core.sequencer.durable_sequence, "it")
                assert len(resets) == 1
                same_state(core, stale)
            finally:
                await behind.stop()

    asyncio.run(scenario())


def test_a_gateway_that_stops_reading_is_no_longer_read(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path, link={"high_water": 8 * 1024}) as (core, link),
            gateway(tmp_path, "reader") as (_, remote),
        ):
            await fund(remote, "T0", "T1", "T2", "T3")
            # A gateway that writes commands and never reads its answers.
            reader, writer = await asyncio.open_unix_connection(str(link.path))
            writer.write(control(Kind.HELLO, ["gateway", "deaf", 0]))
            await reader.read(64)
            before = core.sequencer.sequence
            sent = 0
            for frame_number in range(400):
                payloads = [
                    encode(_order(0, index), f"deaf-{frame_number}-{index}") for index in range(50)
                ]
                writer.write(run(Kind.COMMANDS, 1 + sent, payloads))
                sent += len(payloads)
            taken = -1
            while taken != core.sequencer.sequence:  # until the core takes no more of it
                taken = core.sequencer.sequence
                await asyncio.sleep(0.3)
            assert taken - before < sent
            # The core took part of it, then stopped reading; it still serves the others.
            answered = await _flow(remote, 200, prefix="live-")
            assert all(pending.sequence for pending in answered)
            assert core.sequencer.sequence - taken == 200
            deaf = [c for c in link.connections if c.name == "deaf"]
            assert deaf
            assert deaf[0].transport.get_write_buffer_size() > 8 * 1024
            writer.close()

    asyncio.run(scenario())
