"""Recovery: whatever was journaled comes back, with the same state hash."""

import asyncio
import json
from pathlib import Path

import pytest

from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore, RecoveryError
from server.journal import Durability
from server.journal.snapshots import encode_snapshot
from server.model.registry import Report


async def _trade(core: ExchangeCore, count: int, seed: int = 1) -> None:
    flow = OrderFlow(core.engine, seed)
    for index in range(count):
        command = flow.next_command()
        command = command._replace(timestamp=core.sequencer.now())
        flow.observe(core.sequencer.submit(command).events)
        if index % 100 == 99:
            await core.sequencer.durable()
            await core.settle()
    await core.sequencer.durable()
    await core.settle()


def _crash(core: ExchangeCore) -> None:
    """What SIGKILL leaves: the bytes the OS has, no final snapshot, no close."""
    core.writer.flush()


def _all_reports(core: ExchangeCore) -> dict[str, list[Report]]:
    return {account: list(log) for account, log in core.registry.logs.items()}


def test_reopen_after_a_crash_rebuilds_the_same_engine(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, int, dict[str, list[Report]], str]:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        await _trade(core, 2_000)
        _crash(core)
        assert core.market.matches_engine(core.engine)
        state = core.engine.state_hash(), core.sequencer.sequence, _all_reports(core)
        return (*state, core.market.state_hash())

    live_hash, last, reports, market_hash = asyncio.run(scenario())
    reopened = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
    assert reopened.engine.state_hash() == live_hash
    assert _all_reports(reopened) == reports
    assert reopened.market.state_hash() == market_hash
    assert reopened.recovered.last_sequence == last
    assert reopened.sequencer.sequence == last
    reopened.writer.close_sync()


def test_snapshots_shorten_replay_and_old_segments_go(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, dict[str, list[Report]], str]:
        core = ExchangeCore.open(
            tmp_path, instruments(), durability=Durability.NONE, snapshot_every=500
        )
        await _trade(core, 2_100, seed=2)
        _crash(core)
        return core.engine.state_hash(), _all_reports(core), core.market.state_hash()

    live_hash, reports, market_hash = asyncio.run(scenario())
    assert len(list(tmp_path.glob("snapshot-*.json"))) == 2
    reopened = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
    assert reopened.engine.state_hash() == live_hash
    assert _all_reports(reopened) == reports
    # Channel sequences and session statistics come back from the snapshot.
    assert reopened.market.state_hash() == market_hash
    assert reopened.recovered.snapshot_sequence > 0
    assert reopened.recovered.replayed < 600
    reopened.writer.close_sync()


def test_clean_close_writes_a_final_snapshot(tmp_path: Path) -> None:
    async def scenario() -> str:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.ALWAYS)
        await core.start()
        await _trade(core, 300, seed=3)
        await core.close()
        return core.engine.state_hash()

    live_hash = asyncio.run(scenario())
    reopened = ExchangeCore.open(tmp_path, instruments())
    assert reopened.recovered.replayed == 0
    assert reopened.engine.state_hash() == live_hash
    reopened.writer.close_sync()


def test_torn_tail_is_dropped_and_the_rest_recovered(tmp_path: Path) -> None:
    async def scenario() -> int:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        await _trade(core, 200, seed=4)
        _crash(core)
        return core.sequencer.sequence

    last = asyncio.run(scenario())
    segment = sorted(tmp_path.glob("journal-*.log"))[-1]
    with segment.open("ab") as file:
        file.write(b"\x10\x00\x00\x00garbage")
    reopened = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
    assert reopened.recovered.last_sequence == last
    assert reopened.recovered.truncated is not None
    reopened.writer.close_sync()


def test_a_snapshot_that_does_not_match_its_hash_stops_start_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        await _trade(core, 100, seed=5)
        core.snapshot()
        core.writer.close_sync()

    asyncio.run(scenario())
    (snapshot,) = tmp_path.glob("snapshot-*.json")
    # A file whose checksum holds but whose state does not (a bug, not damage).
    body = json.loads(snapshot.read_bytes().split(b"\n", 1)[1])
    body["data"]["engine"]["last_trade_id"] += 1
    snapshot.write_bytes(encode_snapshot(body["sequence"], body["state_hash"], body["data"]))
    with pytest.raises(RecoveryError, match="different state"):
        ExchangeCore.open(tmp_path, instruments())
