"""On-disk framing of journal records.

A segment file starts with a 6-byte header (magic ``STXJ``, format version as
u16). Each record is ``u32 payload length | u32 CRC-32 | u64 sequence |
payload``, little-endian; the CRC covers the sequence and the payload, so a
record whose bytes were torn or flipped is recognised and never applied.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

MAGIC = b"STXJ"
VERSION = 1
HEADER = MAGIC + struct.pack("<H", VERSION)
_PREFIX = struct.Struct("<IIQ")
PREFIX_SIZE = _PREFIX.size
MAX_PAYLOAD = 16 * 1024 * 1024
"""A longer length field is corruption, not a record."""


def encode_record(sequence: int, payload: bytes) -> bytes:
    sequence_bytes = sequence.to_bytes(8, "little")
    crc = zlib.crc32(payload, zlib.crc32(sequence_bytes))
    return _PREFIX.pack(len(payload), crc, sequence) + payload


@dataclass
class Scan:
    """What a segment holds: its complete records, where they end, and why
    reading stopped early (None when the file ended cleanly)."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    valid_end: int = len(HEADER)
    problem: str | None = None


def scan(data: bytes, first_sequence: int | None = None) -> Scan:
    """Read records from a whole segment's bytes, stopping at the first bad one."""
    result = Scan()
    if data[: len(HEADER)] != HEADER:
        result.valid_end = 0
        result.problem = "missing or wrong segment header"
        return result
    offset = len(HEADER)
    expected = first_sequence
    size = len(data)
    while offset < size:
        if size - offset < PREFIX_SIZE:
            result.problem = f"torn record header at offset {offset}"
            break
        length, crc, sequence = _PREFIX.unpack_from(data, offset)
        if length > MAX_PAYLOAD:
            result.problem = f"impossible record length {length} at offset {offset}"
            break
        start = offset + PREFIX_SIZE
        end = start + length
        if end > size:
            result.problem = f"torn record payload at offset {offset}"
            break
        payload = data[start:end]
        if zlib.crc32(payload, zlib.crc32(sequence.to_bytes(8, "little"))) != crc:
            result.problem = f"CRC mismatch at offset {offset}"
            break
        if expected is not None and sequence != expected:
            result.problem = f"sequence {sequence} where {expected} was due, offset {offset}"
            break
        result.records.append((sequence, payload))
        expected = sequence + 1
        offset = end
        result.valid_end = end
    return result
