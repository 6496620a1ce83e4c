"""Journal segment framing (``server.journal.format``): the reader trusts no
byte it has not checked.

The input is one mode byte and a segment file's bytes. The mode picks the
sequence the segment's name would promise: none, the one its first record
claims, or one past it (a segment whose name and content disagree).

Checked against a reference written here from the format's description, not
with the module's own helpers: every record ``SegmentReader`` yields sits at
the next offset, has the length, CRC-32 and sequence the bytes there say, and
the sequences run on without a gap from the promised one; offsets only grow;
``valid_end`` is just past the last record yielded and never past the data;
reading stops with damage exactly where the trusted bytes end (or with none,
when they end with the data); and the header plus the records, framed again,
are byte for byte the trusted prefix. ``scan`` agrees with the reader, and
``intact_records_after`` can look past any damage without failing.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from matching import AdvanceTime
from server.journal.codec import encode
from server.journal.format import (
    HEADER,
    MAX_PAYLOAD,
    Problem,
    SegmentReader,
    encode_record,
    intact_records_after,
    scan,
)
from tests.fuzz.fuzz_codec import seeds as payloads

_PREFIX = struct.Struct("<IIQ")


def _promised(mode: int, segment: bytes) -> int | None:
    if mode % 3 == 0:
        return None
    claimed = 1
    if len(segment) >= len(HEADER) + _PREFIX.size:
        claimed = _PREFIX.unpack_from(segment, len(HEADER))[2]
    return claimed + (mode % 3 == 2)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    segment = data[1:]
    first = _promised(data[0], segment)
    reader = SegmentReader(segment, first)
    offset = len(HEADER)
    expected = first
    records = []
    for sequence, payload in reader:
        # The record is where the previous one ended, framed as its prefix says.
        length, crc, claimed = _PREFIX.unpack_from(segment, offset)
        start = offset + _PREFIX.size
        assert (claimed, length) == (sequence, len(payload)), (offset, claimed, sequence)
        assert length <= MAX_PAYLOAD
        assert segment[start : start + length] == payload
        assert zlib.crc32(struct.pack("<Q", sequence) + payload) == crc, offset
        assert expected is None or sequence == expected, (sequence, expected)
        offset = start + length
        assert reader.valid_end == offset <= len(segment)
        expected = sequence + 1
        records.append((sequence, payload))
    assert reader.count == len(records)
    assert reader.next_sequence == expected
    trusted = segment[: reader.valid_end]
    assert reader.valid_end <= len(segment)
    damage = reader.damage
    if damage is None:
        assert reader.valid_end == len(segment) >= len(HEADER)
        assert segment.startswith(HEADER)
    elif damage.problem in (Problem.TORN_HEADER, Problem.BAD_HEADER):
        assert damage.offset == reader.valid_end == 0
        assert not records
        assert not segment.startswith(HEADER) or len(segment) < len(HEADER)
    else:
        assert segment.startswith(HEADER)
        assert damage.offset == reader.valid_end < len(segment), (damage, reader.valid_end)
    if reader.valid_end:
        framed = HEADER + b"".join(
            encode_record(sequence, payload) for sequence, payload in records
        )
        assert framed == trusted
    whole = scan(segment, first)
    assert (whole.records, whole.valid_end, whole.damage, whole.next_sequence) == (
        records,
        reader.valid_end,
        damage,
        reader.next_sequence,
    )
    if damage is not None:
        assert str(damage)
        due = reader.next_sequence if reader.next_sequence is not None else 1
        intact = intact_records_after(segment, damage.offset, due)
        if intact is not None:
            # What the search reports as intact really is: a whole record
            # past the damage, with a plausible sequence, whose CRC verifies.
            assert intact.count >= 1
            assert intact.first_offset > damage.offset
            assert due <= intact.first_sequence <= intact.last_sequence
            follows = SegmentReader(segment, intact.first_sequence)
            assert next(iter(follows.records_from(intact.first_offset)))[0] == (
                intact.first_sequence
            )


def seeds() -> Iterator[bytes]:
    """Segments as the writer lays them out, whole, torn and damaged."""
    records = [encode_record(sequence, payload) for sequence, payload in enumerate(payloads(), 1)]
    whole = HEADER + b"".join(records[:6])
    for mode in (0, 1, 2):
        yield bytes([mode]) + whole
    yield b"\x01" + HEADER
    yield b"\x01" + HEADER[:3]
    yield b"\x01" + b"STXJ\x02\x00" + records[0]
    yield b"\x01" + whole[:-5]  # torn payload
    yield b"\x01" + whole + records[6][:7]  # torn prefix
    flipped = bytearray(whole)
    flipped[len(HEADER) + len(records[0]) + 20] ^= 0x10
    yield b"\x01" + bytes(flipped)  # CRC mismatch, intact records after it
    yield b"\x00" + HEADER + records[0] + records[2]  # a gap
    yield b"\x01" + HEADER + encode_record(7, b"") + encode_record(8, encode(AdvanceTime(0)))
    yield b"\x01" + HEADER + struct.pack("<IIQ", MAX_PAYLOAD + 1, 0, 1)
