"""Following the journal from a given sequence, as it grows.

For readers other than recovery (the store's projector): it reads whole
records from the segments on disk, from the one holding the wanted sequence
onwards, and moves to the next segment when the current one ends where the
next begins. A record still being written (its bytes not all there) is
simply not there yet; a complete record that fails its check is damage,
and raises.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from server.journal.files import list_segments
from server.journal.format import _PREFIX, _SEQUENCE, HEADER, HEADER_SIZE, PREFIX_SIZE

CHUNK = 4 * 1024 * 1024


class JournalGapError(RuntimeError):
    """The journal no longer holds (or never held) the records asked for."""


class JournalTail:
    def __init__(self, directory: Path, after: int) -> None:
        self.directory = directory
        self.next_sequence = after + 1
        self._path: Path | None = None
        self._offset = 0
        self._in_file = 0
        """The sequence of the record at ``_offset`` in ``_path``."""

    def _locate(self) -> bool:
        """Open the segment holding ``next_sequence``; False if none has it yet.
        Records before it in that segment are read and passed over."""
        wanted = self.next_sequence
        segments = list_segments(self.directory)
        holders = [(first, path) for first, path in segments if first <= wanted]
        if not holders:
            if segments:
                raise JournalGapError(
                    f"record {wanted} is gone: the journal now starts at {segments[0][0]}"
                )
            return False
        first, path = holders[-1]
        return self._open(path, first)

    def _open(self, path: Path, first: int) -> bool:
        with path.open("rb") as file:
            if file.read(HEADER_SIZE) != HEADER:
                return False  # a new segment whose header is not written yet
        self._path, self._offset, self._in_file = path, HEADER_SIZE, first
        return True

    def read(self, limit: int, up_to: int | None = None) -> list[tuple[int, bytes]]:
        """Up to ``limit`` records from ``next_sequence`` on, none above ``up_to``."""
        records: list[tuple[int, bytes]] = []
        while len(records) < limit and (up_to is None or self.next_sequence <= up_to):
            if self._path is None and not self._locate():
                break
            got = self._read_segment(limit - len(records), up_to, records)
            if got:
                continue
            if not self._advance():
                break
        return records

    def _read_segment(self, limit: int, up_to: int | None, records: list[tuple[int, bytes]]) -> int:
        assert self._path is not None
        with self._path.open("rb") as file:
            file.seek(self._offset)
            data = file.read(CHUNK)
        offset = 0
        got = 0
        size = len(data)
        while got < limit and size - offset >= PREFIX_SIZE:
            sequence_due = self._in_file
            if up_to is not None and sequence_due > up_to:
                break
            length, crc, sequence = _PREFIX.unpack_from(data, offset)
            end = offset + PREFIX_SIZE + length
            if end > size:
                if offset == 0 and PREFIX_SIZE + length > CHUNK:
                    raise JournalGapError(f"record {sequence_due} is larger than the read chunk")
                break  # still being written, or the rest is beyond this chunk
            payload = data[offset + PREFIX_SIZE : end]
            if zlib.crc32(payload, zlib.crc32(_SEQUENCE.pack(sequence))) != crc:
                raise JournalGapError(f"{self._path.name}: record {sequence_due} fails its CRC")
            if sequence != sequence_due:
                raise JournalGapError(
                    f"{self._path.name}: found record {sequence} where {sequence_due} was due"
                )
            offset = end
            self._in_file = sequence + 1
            if sequence >= self.next_sequence:
                records.append((sequence, payload))
                self.next_sequence = sequence + 1
                got += 1
        self._offset += offset
        return got if got else int(offset > 0)

    def _advance(self) -> bool:
        """Move to the segment that starts at ``next_sequence``, if there is one."""
        for first, path in list_segments(self.directory):
            if first == self._in_file and path != self._path:
                return self._open(path, first)
        return False
