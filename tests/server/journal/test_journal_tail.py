"""Following the journal from a sequence, across segments, as it grows."""

import asyncio
from pathlib import Path

import pytest

from server.journal import Durability, JournalWriter, prune, write_snapshot
from server.journal.snapshots import load_snapshot_at_or_before
from server.journal.tail import JournalGapError, JournalTail


def _write(directory: Path, first: int, last: int, roll_at: tuple[int, ...] = ()) -> None:
    async def scenario() -> None:
        writer = JournalWriter(directory, next_sequence=first, durability=Durability.NONE)
        for sequence in range(first, last + 1):
            writer.append(sequence, f"p{sequence}".encode())
            if sequence in roll_at:
                await writer.commit()
                writer.roll()
        await writer.close()

    asyncio.run(scenario())


def test_reads_from_any_sequence_across_segments_and_as_records_arrive(tmp_path: Path) -> None:
    _write(tmp_path, 1, 10, roll_at=(4, 7))
    assert len(list(tmp_path.glob("journal-*.log"))) == 3
    tail = JournalTail(tmp_path, after=2)
    assert [sequence for sequence, _ in tail.read(4)] == [3, 4, 5, 6]
    assert tail.read(100, up_to=8) == [(7, b"p7"), (8, b"p8")]
    assert [sequence for sequence, _ in tail.read(100)] == [9, 10]
    assert tail.read(100) == []  # nothing more yet
    _write(tmp_path, 11, 12)
    assert tail.read(100) == [(11, b"p11"), (12, b"p12")]


def test_a_half_written_record_is_not_there_yet(tmp_path: Path) -> None:
    _write(tmp_path, 1, 3)
    segment = next(tmp_path.glob("journal-*.log"))
    whole = segment.read_bytes()
    segment.write_bytes(whole[:-2])  # the writer is mid-way through record 3
    tail = JournalTail(tmp_path, after=0)
    assert [sequence for sequence, _ in tail.read(10)] == [1, 2]
    segment.write_bytes(whole)
    assert tail.read(10) == [(3, b"p3")]


def test_damage_and_missing_records_raise(tmp_path: Path) -> None:
    _write(tmp_path, 1, 3)
    segment = next(tmp_path.glob("journal-*.log"))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    with pytest.raises(JournalGapError, match="CRC"):
        JournalTail(tmp_path, after=0).read(10)
    other = tmp_path / "later"
    _write(other, 50, 52)
    with pytest.raises(JournalGapError, match="starts at 50"):
        JournalTail(other, after=10).read(10)


def test_prune_keeps_what_a_reader_behind_still_needs(tmp_path: Path) -> None:
    _write(tmp_path, 1, 40, roll_at=(10, 20, 30))
    for sequence in (10, 20, 30):
        write_snapshot(tmp_path, sequence, "hash", {"n": sequence})
    write_snapshot(tmp_path, 40, "hash", {"n": 40})
    prune(tmp_path, needed_from=15)
    # The snapshot at 10 and every segment after it stay for the reader at 15.
    assert load_snapshot_at_or_before(tmp_path, 15) is not None
    assert load_snapshot_at_or_before(tmp_path, 15)["sequence"] == 10  # type: ignore[index]
    assert [sequence for sequence, _ in JournalTail(tmp_path, after=10).read(5)] == [
        11,
        12,
        13,
        14,
        15,
    ]
    prune(tmp_path, needed_from=35)
    assert load_snapshot_at_or_before(tmp_path, 15) is None
    assert len(list(tmp_path.glob("snapshot-*.json"))) == 2
    with pytest.raises(JournalGapError):
        JournalTail(tmp_path, after=10).read(5)
