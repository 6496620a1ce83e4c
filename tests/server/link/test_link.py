"""The link between the core and a gateway or consumer over a real Unix socket."""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import (
    NewOrder,
    OrderAccepted,
    OrderRejected,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from server.bench.workload import ACCOUNTS, OrderFlow
from server.journal.codec import Origin, decode_with_origin
from server.journal.tail import JournalTail
from server.link.client import CoreClient, LinkGapError
from server.link.frames import Kind, Reader, run
from server.link.remote import LOST, RemoteSequencer
from server.link.replica import Replica
from server.model.sequenced import Sequenced
from tests.server.link.harness import consumer, core_with_link, fund, gateway, same_state


def _order(now: int, account: str, side: Side, quantity: int, price: int) -> NewOrder:
    return NewOrder(now, account, "AAPL", side, OrderType.LIMIT, quantity, price, TimeInForce.DAY)


def test_a_gateways_commands_come_back_in_order_with_events_and_reports(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with core_with_link(tmp_path) as (core, link):
            assert stat.S_IMODE(os.stat(link.path).st_mode) == 0o600
            async with gateway(tmp_path) as (client, remote):
                replica = client.replica
                assert replica is not None
                await fund(remote, "alice", "bob")
                sell = remote.submit(_order(remote.now(), "alice", Side.SELL, 300, 1_900_000), "a1")
                buy = remote.submit(_order(remote.now(), "bob", Side.BUY, 100, 1_900_000), "b1")
                refused = remote.submit(_order(remote.now(), "bob", Side.BUY, 0, 1_900_000), "b2")
                await remote.durable()
                assert (buy.sequence, refused.sequence) == (sell.sequence + 1, sell.sequence + 2)
                assert [type(event) for event in sell.events] == [
                    OrderAccepted,
                    *[type(e) for e in sell.events[1:]],
                ]
                assert any(isinstance(event, OrderRejected) for event in refused.events)
                assert core.sequencer.durable_sequence == refused.sequence
                reports = replica.registry.reports_of("bob", buy.sequence)
                assert reports
                assert reports[0].client_order_id == "b1"
                assert (
                    replica.registry.reports_of("alice", sell.sequence)[0].client_order_id == "a1"
                )
                # The core stamped the commands: its clock, in sequence order.
                assert sell.command.timestamp <= buy.command.timestamp <= refused.command.timestamp
                same_state(core, replica)

    asyncio.run(scenario())


def test_the_core_journals_when_the_gateway_made_each_command(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int, int]:
        async with core_with_link(tmp_path) as (core, _), gateway(tmp_path) as (_, remote):
            await fund(remote, "alice")
            made = remote.now()
            sent = remote.submit(
                _order(made, "alice", Side.BUY, 100, 1_800_000), "a1", Origin("u1", "s", "grpc")
            )
            unsigned = remote.submit(_order(remote.now(), "alice", Side.BUY, 100, 1_800_000))
            await remote.durable()
            assert core.sequencer.durable_sequence == unsigned.sequence
            return made, sent.sequence, unsigned.sequence

    made, sequence, unsigned = asyncio.run(scenario())
    journaled = dict(JournalTail(tmp_path, sequence - 1).read(2))
    command, _, origin = decode_with_origin(journaled[sequence])
    assert origin == Origin("u1", "s", "grpc", "", made)  # the gateway's time, kept
    assert command.timestamp >= made  # the core's own stamp, after it
    assert decode_with_origin(journaled[unsigned])[2] is None  # no origin: nothing added


def test_the_core_refuses_a_duplicate_client_order_id_from_two_gateways(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            core_with_link(tmp_path) as (core, _),
            gateway(tmp_path, "g1") as (_, one),
            gateway(tmp_path, "g2") as (_, two),
        ):
            await fund(one, "alice")
            first = one.submit(_order(one.now(), "alice", Side.BUY, 100, 1_800_000), "same")
            second = two.submit(_order(two.now(), "alice", Side.BUY, 100, 1_800_000), "same")
            await asyncio.gather(one.durable(), two.durable())
            answers = sorted([first, second], key=lambda pending: pending.sequence)
            assert answers[0].sequence == 0
            assert answers[1].sequence > 0
            (refusal,) = answers[0].events
            assert isinstance(refusal, OrderRejected)
            assert refusal.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
            # Later too, once the first is in the registry.
            third = one.submit(_order(one.now(), "alice", Side.BUY, 100, 1_800_000), "same")
            await one.durable()
            assert third.sequence == 0
            assert core.registry.is_duplicate("alice", "same")

    asyncio.run(scenario())


def test_a_payload_the_core_cannot_decode_is_lost_not_an_engine_refusal(tmp_path: Path) -> None:
    # A gateway bug: a command the codec writes but the core cannot read back
    # (a price that is no integer). The core refuses it with MALFORMED, which
    # no engine reason matches; the services answered it as a rejection and
    # failed on the number (UNKNOWN to the client). It is LOST: UNAVAILABLE,
    # with the core's words.
    async def scenario() -> None:
        async with core_with_link(tmp_path) as (core, _), gateway(tmp_path, "g1") as (_, one):
            await fund(one, "alice")
            bad = NewOrder(
                one.now(),
                "alice",
                "AAPL",
                Side.BUY,
                OrderType.LIMIT,
                100,
                "x",  # type: ignore[arg-type]
                TimeInForce.DAY,
            )
            refused = one.submit(bad, "bad")
            fine = one.submit(_order(one.now(), "alice", Side.BUY, 100, 1_800_000), "fine")
            await one.durable()
            assert refused.sequence == LOST
            (refusal,) = refused.events
            assert "not an encoded command" in refusal.text  # type: ignore[union-attr]
            assert fine.sequence > 0
            assert not core.registry.is_duplicate("alice", "bad")

    asyncio.run(scenario())


async def _random_flow(remote: RemoteSequencer, replica: Replica, count: int, seed: int) -> None:
    flow = OrderFlow(replica.engine, seed)
    pending = []
    for index in range(count):
        pending.append(remote.submit(flow.next_command(), f"c{seed}-{index}"))
        if index % 7 == 6:
            await remote.durable()
            for item in pending:
                flow.observe(item.events)
            pending.clear()
    await remote.durable()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), count=st.integers(1, 400))
def test_a_replica_equals_the_core_after_random_commands(seed: int, count: int) -> None:
    async def scenario(directory: Path) -> None:
        async with (
            core_with_link(directory) as (core, _),
            gateway(directory) as (client, remote),
            consumer(directory) as watcher,
        ):
            assert client.replica is not None
            assert watcher.replica is not None
            await fund(remote, *ACCOUNTS[:20])
            await _random_flow(remote, client.replica, count, seed)
            await _settled(watcher, core.sequencer.durable_sequence)
            same_state(core, client.replica)
            same_state(core, watcher.replica)

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(Path(directory)))


async def _settled(client: CoreClient, sequence: int) -> None:
    for _ in range(1000):
        if client.position >= sequence:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{client.name} at {client.position}, core at {sequence}")


def test_a_paced_consumer_takes_what_was_committed_meanwhile_as_one_batch(tmp_path: Path) -> None:
    """One order per committed batch: a paced consumer's listeners run once
    per wake, not once per batch, and see every sequence once, in order."""

    async def scenario() -> tuple[int, int, list[int]]:
        async with (
            core_with_link(tmp_path) as (core, _),
            gateway(tmp_path) as (client, remote),
            consumer(tmp_path, pace=0.05) as watcher,
        ):
            assert client.replica is not None
            assert watcher.replica is not None
            seen: list[int] = []
            batches = 0

            def listen(batch: list[Sequenced]) -> None:
                nonlocal batches
                batches += 1
                seen.extend(item.sequence for item in batch)

            watcher.replica.batch_listeners.append(listen)
            start = watcher.position
            await fund(remote, *ACCOUNTS[:4])
            flow = OrderFlow(client.replica.engine, 7)
            for index in range(300):
                remote.submit(flow.next_command(), f"paced-{index}")
                await remote.durable()
            await _settled(watcher, core.sequencer.durable_sequence)
            same_state(core, watcher.replica)
            return core.sequencer.durable_sequence - start, batches, seen

    committed, batches, seen = asyncio.run(scenario())
    assert seen == list(range(seen[0], seen[0] + committed))
    assert batches < committed / 5, (batches, committed)


def test_a_consumer_refuses_a_batch_that_leaves_a_gap(tmp_path: Path) -> None:
    """Frames that arrived together still must follow one another."""
    client = CoreClient(tmp_path, Replica.open(tmp_path), name="gapped")
    with pytest.raises(LinkGapError):
        client.batches([body for _, body in Reader().feed(run(Kind.BATCH, 2, [b"x"]))])
