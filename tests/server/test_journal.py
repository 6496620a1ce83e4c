"""The journal on real files: round trips, durability, torn tails, snapshots."""

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.journal import (
    Durability,
    JournalCorruptError,
    JournalWriter,
    prune,
    recover,
    write_snapshot,
)
from server.journal.format import HEADER, PREFIX_SIZE


def _write(directory: Path, payloads: list[bytes], start: int = 1) -> JournalWriter:
    writer = JournalWriter(directory, next_sequence=start, durability=Durability.NONE)
    for offset, payload in enumerate(payloads):
        writer.append(start + offset, payload)
    writer.flush()
    return writer


def _segment(directory: Path) -> Path:
    return sorted(directory.glob("journal-*.log"))[-1]


def test_records_round_trip_across_segments(tmp_path: Path) -> None:
    writer = _write(tmp_path, [b"a", b"bb"])
    writer.roll()
    writer.append(3, b"ccc")
    writer.close_sync()
    assert len(list(tmp_path.glob("journal-*.log"))) == 2
    recovery = recover(tmp_path)
    assert recovery.records == [(1, b"a"), (2, b"bb"), (3, b"ccc")]
    assert recovery.last_sequence == 3
    assert recovery.truncated is None


def test_sequence_must_follow_on(tmp_path: Path) -> None:
    writer = _write(tmp_path, [b"a"])
    with pytest.raises(ValueError, match="expects sequence 2"):
        writer.append(5, b"x")
    writer.close_sync()


def test_torn_tail_is_cut_at_every_offset_and_appending_resumes(tmp_path: Path) -> None:
    writer = _write(tmp_path, [b"first", b"second", b"third record"])
    writer.close_sync()
    path = _segment(tmp_path)
    whole = path.read_bytes()
    last_start = len(whole) - (PREFIX_SIZE + len(b"third record"))
    for cut in range(last_start, len(whole)):
        path.write_bytes(whole[:cut])
        recovery = recover(tmp_path)
        assert recovery.records == [(1, b"first"), (2, b"second")]
        assert (recovery.truncated is not None) == (cut != last_start)
        assert path.stat().st_size == last_start
    resumed = JournalWriter(tmp_path, next_sequence=3, durability=Durability.NONE)
    resumed.append(3, b"again")
    resumed.close_sync()
    assert recover(tmp_path).records[-1] == (3, b"again")


def test_flipped_byte_in_the_last_record_is_cut(tmp_path: Path) -> None:
    _write(tmp_path, [b"keep", b"damaged"]).close_sync()
    path = _segment(tmp_path)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    recovery = recover(tmp_path)
    assert recovery.records == [(1, b"keep")]
    assert recovery.truncated is not None
    assert "CRC" in recovery.truncated


def test_damage_before_the_tail_stops_recovery(tmp_path: Path) -> None:
    writer = _write(tmp_path, [b"one", b"two"])
    writer.roll()
    writer.append(3, b"three")
    writer.close_sync()
    first = sorted(tmp_path.glob("journal-*.log"))[0]
    data = bytearray(first.read_bytes())
    data[len(HEADER) + PREFIX_SIZE] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError, match="CRC"):
        recover(tmp_path)


def test_missing_segment_is_a_gap(tmp_path: Path) -> None:
    writer = _write(tmp_path, [b"one"])
    writer.roll()
    writer.append(2, b"two")
    writer.roll()
    writer.append(3, b"three")
    writer.close_sync()
    sorted(tmp_path.glob("journal-*.log"))[1].unlink()
    with pytest.raises(JournalCorruptError, match="expected 2"):
        recover(tmp_path)


def test_always_acknowledges_after_fsync_and_groups_commits(tmp_path: Path) -> None:
    synced: list[int] = []

    def slow_fsync(fd: int) -> None:
        synced.append(fd)
        os.fsync(fd)

    async def scenario() -> None:
        writer = JournalWriter(tmp_path, durability=Durability.ALWAYS, fsync=slow_fsync)
        before = writer.fsyncs
        writer.append(1, b"x")
        await writer.commit()
        assert writer.fsyncs == before + 1
        commits = []
        for sequence in range(2, 52):
            writer.append(sequence, b"y")
            commits.append(asyncio.ensure_future(writer.commit()))
        await asyncio.gather(*commits)
        assert writer.fsyncs - before <= 3
        await writer.close()

    asyncio.run(scenario())
    assert recover(tmp_path).last_sequence == 51


def test_batch_fsyncs_in_the_background(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = JournalWriter(tmp_path, durability=Durability.BATCH, fsync_interval=0.001)
        await writer.start()
        before = writer.fsyncs
        writer.append(1, b"x")
        await writer.commit()
        assert writer.fsyncs == before
        for _ in range(200):
            if writer.fsyncs > before:
                break
            await asyncio.sleep(0.005)
        assert writer.fsyncs > before
        await writer.close()

    asyncio.run(scenario())


def test_snapshots_are_atomic_and_pruned_with_old_segments(tmp_path: Path) -> None:
    writer = _write(tmp_path, [b"1", b"2"])
    write_snapshot(tmp_path, 2, "hash-a", {"x": 1})
    writer.roll()
    writer.append(3, b"3")
    writer.flush()
    write_snapshot(tmp_path, 3, "hash-b", {"x": 2})
    writer.roll()
    writer.append(4, b"4")
    writer.close_sync()
    write_snapshot(tmp_path, 4, "hash-c", {"x": 3})
    (tmp_path / "snapshot-00000000000000000005.json.tmp").write_text("{")
    removed = {path.name for path in prune(tmp_path, keep=2)}
    assert "snapshot-00000000000000000002.json" in removed
    assert "journal-00000000000000000001.log" in removed
    recovery = recover(tmp_path)
    assert recovery.snapshot is not None
    assert recovery.snapshot["state_hash"] == "hash-c"
    assert recovery.records == []
    assert recovery.last_sequence == 4


def test_corrupt_newest_snapshot_falls_back(tmp_path: Path) -> None:
    _write(tmp_path, [b"1", b"2", b"3"]).close_sync()
    write_snapshot(tmp_path, 1, "old", {})
    (tmp_path / "snapshot-00000000000000000003.json").write_text('{"format": 1, "seq')
    recovery = recover(tmp_path)
    assert recovery.snapshot is not None
    assert recovery.snapshot["state_hash"] == "old"
    assert [sequence for sequence, _ in recovery.records] == [2, 3]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads=st.lists(st.binary(max_size=40), min_size=1, max_size=20),
    cut_fraction=st.floats(min_value=0, max_value=1),
)
def test_any_truncation_yields_a_clean_prefix(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[bytes], cut_fraction: float
) -> None:
    directory = tmp_path_factory.mktemp("journal")
    _write(directory, payloads).close_sync()
    path = _segment(directory)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut_fraction)])
    recovered = [payload for _, payload in recover(directory).records]
    assert recovered == payloads[: len(recovered)]
