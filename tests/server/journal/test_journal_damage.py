"""Torn tail or corruption: damage at every byte offset of the last segment.

Only damage to the last record, with nothing intact after it, is what a
crash leaves and may be cut; damage with an intact record anywhere after it
(whatever a damaged length field says) stops recovery and names the offset.
"""

import struct
from pathlib import Path

import pytest

from server.journal import Durability, JournalCorruptError, JournalWriter, recover
from server.journal.format import (
    HEADER,
    HEADER_SIZE,
    PREFIX_SIZE,
    encode_record,
    find_intact,
    intact_records_after,
)

EARLIER = [b"in the first segment", b"also"]
"""Records 1..2, in a segment of their own: recovery must keep them too."""
LAST = [b"three", b"", b"five five", b"six", b"seven" * 9, b"8", b"nine nine nine", b"ten"]
"""Records 3..10, the last segment: one empty payload, one longer."""


def _journal(directory: Path) -> Path:
    """Both segments; returns the last."""
    writer = JournalWriter(directory, durability=Durability.NONE)
    for sequence, payload in enumerate(EARLIER + LAST, start=1):
        writer.append(sequence, payload)
        if sequence == len(EARLIER):
            writer.roll()
    writer.close_sync()
    (_, last) = sorted(directory.glob("journal-*.log"))
    return last


def _starts() -> list[int]:
    """The offset of each record of the last segment."""
    starts, offset = [], HEADER_SIZE
    for payload in LAST:
        starts.append(offset)
        offset += PREFIX_SIZE + len(payload)
    return starts


def _numbered(count: int) -> list[tuple[int, bytes]]:
    return list(enumerate((EARLIER + LAST)[:count], start=1))


def _reset(directory: Path, path: Path, data: bytes) -> None:
    for kept in directory.glob("*.cut-*"):
        kept.unlink()
    path.write_bytes(data)


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_a_flipped_byte_is_cut_only_in_the_last_record(tmp_path: Path, mask: int) -> None:
    path = _journal(tmp_path)
    whole = path.read_bytes()
    starts = _starts()
    assert len(whole) == starts[-1] + PREFIX_SIZE + len(LAST[-1])
    for offset in range(len(whole)):
        damaged = bytearray(whole)
        damaged[offset] ^= mask
        _reset(tmp_path, path, bytes(damaged))
        if offset >= starts[-1]:
            recovery = recover(tmp_path)
            assert recovery.records == _numbered(len(EARLIER + LAST) - 1), offset
            assert recovery.truncation is not None
            assert recovery.truncation.damage.offset == starts[-1]
            assert path.read_bytes() == whole[: starts[-1]]
            continue
        record_start = max((start for start in starts if start <= offset), default=0)
        with pytest.raises(JournalCorruptError, match=f"offset {record_start}: ") as raised:
            recover(tmp_path)
        if offset >= HEADER_SIZE:
            index = starts.index(record_start)
            follow = len(LAST) - index - 1
            first_intact = len(EARLIER) + index + 2
            assert f"{follow} intact records follow it (sequences {first_intact}..10" in str(
                raised.value
            ), offset
        assert path.read_bytes() == bytes(damaged), offset  # nothing was cut


def test_a_truncation_at_every_offset_keeps_exactly_the_whole_records(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    whole = path.read_bytes()
    ends = [start + PREFIX_SIZE + len(load) for start, load in zip(_starts(), LAST, strict=True)]
    for cut in range(len(whole) + 1):
        _reset(tmp_path, path, whole[:cut])
        recovery = recover(tmp_path)
        whole_records = sum(1 for end in ends if end <= cut)
        assert recovery.records == _numbered(len(EARLIER) + whole_records), cut
        empty = HEADER_SIZE if cut >= HEADER_SIZE else 0
        kept = max([end for end in ends if end <= cut], default=empty)
        assert path.stat().st_size == kept, cut
        assert (recovery.truncation is None) == (cut == kept), cut


def _big_segment(directory: Path, records: int) -> tuple[Path, list[int]]:
    """One segment of ``records`` records of varied sizes; the record offsets."""
    writer = JournalWriter(directory, durability=Durability.NONE)
    starts, offset = [], HEADER_SIZE
    for sequence in range(1, records + 1):
        payload = bytes([sequence % 251]) * (20 + sequence % 90)
        writer.append(sequence, payload)
        starts.append(offset)
        offset += PREFIX_SIZE + len(payload)
    writer.close_sync()
    (path,) = directory.glob("journal-*.log")
    return path, starts


@pytest.mark.parametrize(
    ("field_offset", "change", "problem"),
    [
        (PREFIX_SIZE + 5, 0x01, "CRC mismatch"),  # a payload byte
        (0, 0x07, "CRC mismatch"),  # the length, made longer: the next record is swallowed
        (0, 0x05, "CRC mismatch"),  # the length, made shorter
        (3, 0x80, "impossible record length"),  # the length's high byte
        (8, 0x01, "CRC mismatch"),  # the sequence
    ],
)
def test_damage_in_the_middle_of_the_last_segment_is_refused(
    tmp_path: Path, field_offset: int, change: int, problem: str
) -> None:
    """The filed case: one flipped byte among 2,000 records lost the 996 after it."""
    path, starts = _big_segment(tmp_path, 2_000)
    data = bytearray(path.read_bytes())
    data[starts[999] + field_offset] ^= change  # record 1000
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError) as raised:
        recover(tmp_path)
    message = str(raised.value)
    assert f"offset {starts[999]}: {problem}" in message
    assert "1000 intact records follow it (sequences 1001..2000" in message
    assert "would lose records 1000..2000" in message
    assert path.read_bytes() == bytes(data)


def test_a_length_pointing_past_the_end_is_refused_when_records_follow(tmp_path: Path) -> None:
    path, starts = _big_segment(tmp_path, 50)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, starts[20], len(data))  # torn payload, as the reader sees it
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError, match=f"offset {starts[20]}: torn record payload"):
        recover(tmp_path)


def test_the_search_finds_records_at_any_offset_and_ignores_implausible_ones() -> None:
    record = encode_record(7, b"payload")
    assert find_intact(b"\x00" * 100 + record, 0, 7) == (100, 7)
    assert find_intact(b"\x00" * 101 + record, 0, 7) == (101, 7)
    assert find_intact(b"junk" + record, 0, 8) is None  # the sequence is older than due
    # A sequence further ahead than the bytes in between can account for.
    assert find_intact(b"x" + encode_record(900, b"far"), 0, 7) is None
    assert find_intact(b"\x00" * 4096, 0, 1) is None
    above = 1 << 24  # the sequence's high bytes are no longer zero
    assert find_intact(b"\xff" * 33 + encode_record(above + 2, b""), 0, above) == (33, above + 2)
    damaged = HEADER + b"\x01" * 40 + encode_record(3, b"c") + encode_record(4, b"d")
    found = intact_records_after(damaged, HEADER_SIZE, 2)
    assert found is not None
    assert (found.count, found.first_sequence, found.last_sequence) == (2, 3, 4)
    assert found.first_offset == HEADER_SIZE + 40
