"""On-disk framing of journal records, and the reader that checks it.

A segment file starts with a 6-byte header: magic ``STXJ`` and the format
version as u16. Each record is ``u32 payload length | u32 CRC-32 | u64
sequence | payload``, little-endian. The CRC covers the sequence and the
payload, so a record whose bytes were torn by a crash or flipped by the disk
is recognised and never applied; the length comes first so a reader knows
how much to read before it can check anything, and an absurd length is
itself a sign of damage.

The reader stops at the first record it cannot trust and says where the
trustworthy bytes end and why. It does not decide what to do about it:
a damaged tail is a normal crash artefact, damage elsewhere is not, and only
recovery knows which segment it is reading.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

MAGIC = b"STXJ"
VERSION = 1
HEADER = MAGIC + struct.pack("<H", VERSION)
HEADER_SIZE = len(HEADER)
_PREFIX = struct.Struct("<IIQ")
PREFIX_SIZE = _PREFIX.size
_SEQUENCE = struct.Struct("<Q")
MAX_SEQUENCE = 2**64 - 1
MAX_PAYLOAD = 16 * 1024 * 1024
"""The largest payload a record may carry; a longer length field is damage."""


def append_record(buffer: bytearray, sequence: int, payload: bytes) -> None:
    """Frame one record onto ``buffer``: the writer's hot path, so two
    in-place extends and no concatenated copy of the payload."""
    crc = zlib.crc32(payload, zlib.crc32(_SEQUENCE.pack(sequence)))
    buffer += _PREFIX.pack(len(payload), crc, sequence)
    buffer += payload


def encode_record(sequence: int, payload: bytes) -> bytes:
    """One framed record, as ``append_record`` would add it."""
    buffer = bytearray()
    append_record(buffer, sequence, payload)
    return bytes(buffer)


class Problem(Enum):
    """Why a reader stopped before the end of a segment."""

    TORN_HEADER = "torn segment header"
    BAD_HEADER = "not a journal segment of a known version"
    TORN_LENGTH = "torn record length"
    BAD_LENGTH = "impossible record length"
    TORN_PAYLOAD = "torn record payload"
    CRC_MISMATCH = "CRC mismatch"
    SEQUENCE_GAP = "sequence not consecutive"

    @property
    def crash_artefact(self) -> bool:
        """Whether a crash in the middle of a write can leave this at the end of
        a file. A wrong header or a record with a valid CRC but the wrong
        sequence cannot be torn bytes: they mean a bug or a foreign file."""
        return self not in {Problem.BAD_HEADER, Problem.SEQUENCE_GAP}


@dataclass(frozen=True)
class Damage:
    problem: Problem
    offset: int
    """Where the untrusted bytes start (the header, or the bad record's prefix)."""
    detail: str

    def __str__(self) -> str:
        return f"{self.problem.value} at offset {self.offset} ({self.detail})"


class SegmentReader:
    """Iterate over one segment's records, stopping at the first bad one.

    Single pass. While and after iterating, ``valid_end`` is the offset just
    past the last record yielded, ``next_sequence`` the sequence due next, and
    ``damage`` says why reading stopped early (None if the data ended cleanly
    on a record boundary). ``first_sequence`` is the sequence the segment's
    name promises; without it the first record may carry any sequence.
    """

    def __init__(self, data: bytes, first_sequence: int | None = None) -> None:
        self.data = data
        self.valid_end = 0
        self.next_sequence = first_sequence
        self.count = 0
        self.damage: Damage | None = None

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        data = self.data
        size = len(data)
        if size < HEADER_SIZE:
            self.damage = Damage(Problem.TORN_HEADER, 0, f"{size} of {HEADER_SIZE} bytes")
            return
        if data[:HEADER_SIZE] != HEADER:
            self.damage = Damage(Problem.BAD_HEADER, 0, f"found {bytes(data[:HEADER_SIZE])!r}")
            return
        yield from self.records_from(HEADER_SIZE)

    def records_from(self, offset: int) -> Iterator[tuple[int, bytes]]:
        """Iterate from ``offset``, a record boundary past the header (where
        a search found an intact record after damage)."""
        data = self.data
        size = len(data)
        self.valid_end = offset
        expected = self.next_sequence
        unpack = _PREFIX.unpack_from
        crc32 = zlib.crc32
        while offset < size:
            if size - offset < PREFIX_SIZE:
                self.damage = Damage(
                    Problem.TORN_LENGTH, offset, f"{size - offset} of {PREFIX_SIZE} bytes"
                )
                return
            length, crc, sequence = unpack(data, offset)
            if length > MAX_PAYLOAD:
                self.damage = Damage(Problem.BAD_LENGTH, offset, f"{length} > {MAX_PAYLOAD}")
                return
            start = offset + PREFIX_SIZE
            end = start + length
            if end > size:
                self.damage = Damage(
                    Problem.TORN_PAYLOAD, offset, f"{size - start} of {length} bytes"
                )
                return
            payload = data[start:end]
            if crc32(payload, crc32(data[offset + 8 : start])) != crc:
                self.damage = Damage(Problem.CRC_MISMATCH, offset, f"record claims {sequence}")
                return
            if expected is not None and sequence != expected:
                self.damage = Damage(
                    Problem.SEQUENCE_GAP, offset, f"sequence {sequence} where {expected} was due"
                )
                return
            offset = self.valid_end = end
            expected = self.next_sequence = sequence + 1
            self.count += 1
            yield sequence, payload


@dataclass(frozen=True)
class IntactRecords:
    """Records whose CRC verifies found after damage in a segment: proof that
    the damage is not a torn tail, since a crash only tears what it was
    writing last."""

    count: int
    first_offset: int
    """Where the first of them starts."""
    first_sequence: int
    last_sequence: int


def _upper_patterns(low: int, high: int) -> re.Pattern[bytes]:
    """A regex for the five high bytes of a little-endian u64 between ``low``
    and ``high``: every plausible sequence field contains one, so only
    offsets where it matches need a closer look. When those bytes are zero (a
    journal below 16.7 million records), a run of zeros would match at every
    offset: the lookbehind skips matches whose three low bytes are zero too,
    which would make the sequence 0, never due (sequences start at 1)."""
    alternatives = []
    for upper in range(low >> 24, (high >> 24) + 1):
        literal = re.escape(upper.to_bytes(5, "little"))
        alternatives.append(rb"(?<!\x00\x00\x00)" + literal if upper == 0 else literal)
    return re.compile(b"|".join(alternatives))


def find_intact(data: bytes, start: int, due: int) -> tuple[int, int] | None:
    """``(offset, sequence)`` of the first record at or after ``start`` whose
    CRC verifies and whose sequence is plausible: at least ``due`` and no
    more than the records between ``start`` and it could account for. Every
    byte offset is a candidate, not only the boundary a length field points
    at, since the damage may be in a length field. None if there is none."""
    size = len(data)
    if size - start < PREFIX_SIZE or due > MAX_SEQUENCE:
        return None
    # A sequence field is a u64: nothing past its largest value can be there.
    high = min(due + (size - start) // PREFIX_SIZE, MAX_SEQUENCE)
    pattern = _upper_patterns(due, high)
    unpack = _PREFIX.unpack_from
    crc32 = zlib.crc32
    # The five high bytes of the sequence sit at offset + 11 of a record.
    search_from = start + 11
    while True:
        match = pattern.search(data, search_from)
        if match is None:
            return None
        offset = match.start() - 11
        search_from = match.start() + 1
        if offset + PREFIX_SIZE > size:
            return None
        length, crc, sequence = unpack(data, offset)
        if not due <= sequence <= due + (offset - start) // PREFIX_SIZE + 1:
            continue
        end = offset + PREFIX_SIZE + length
        if length > MAX_PAYLOAD or end > size:
            continue
        if crc32(data[offset + PREFIX_SIZE : end], crc32(data[offset + 8 : offset + 16])) == crc:
            return offset, sequence


def intact_records_after(data: bytes, offset: int, due: int) -> IntactRecords | None:
    """Every record with a valid CRC and a plausible sequence after damage at
    ``offset`` (where the record ``due`` should have been), found by a search
    at every byte offset and then followed record by record, searching again
    wherever the chain breaks. None when nothing intact follows: what a torn
    write leaves."""
    found = find_intact(data, offset + 1, due)
    if found is None:
        return None
    first_offset, first_sequence = found
    count = 0
    last = first_sequence
    position, sequence = found
    while True:
        reader = SegmentReader(data, sequence)
        for read, _ in reader.records_from(position):
            count += 1
            last = read
        if reader.damage is None:
            break
        # A record with a valid CRC but an unexpected sequence is itself a
        # candidate; anything else at the damage is not.
        skip = 0 if reader.damage.problem is Problem.SEQUENCE_GAP else 1
        found = find_intact(data, reader.damage.offset + skip, last + 1)
        if found is None:
            break
        position, sequence = found
    return IntactRecords(count, first_offset, first_sequence, last)


@dataclass
class Scan:
    """A whole segment read at once: its records, where they end, and the
    damage that stopped the reading (None when the file ended cleanly)."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    valid_end: int = 0
    damage: Damage | None = None
    next_sequence: int | None = None

    @property
    def problem(self) -> str | None:
        return None if self.damage is None else str(self.damage)


def scan(data: bytes, first_sequence: int | None = None) -> Scan:
    """Read every trustworthy record from a segment's bytes."""
    reader = SegmentReader(data, first_sequence)
    records = list(reader)
    return Scan(records, reader.valid_end, reader.damage, reader.next_sequence)
