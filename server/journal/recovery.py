"""Reading the journal back at start-up.

Recovery = the newest complete snapshot + every record after it, in order.

A crash in the middle of a write leaves a torn tail on the last segment: the
bytes of the record being written when it happened, never acknowledged under
``ALWAYS`` (or, ``BATCH`` after a power loss, at most an fsync interval's
worth). Such a tail is cut off (the bytes copied aside first, then the file
truncated and fsynced) and logged; it is never applied.

What makes a tail torn is that nothing intact follows it. So after damage of
any kind in the last segment, the rest of it is searched, at every byte
offset (a damaged length field moves the boundary it points at), for a
record whose CRC verifies and whose sequence is plausible. If one is found,
the damage is in the middle of acknowledged history, exactly like damage in
an older segment, a valid record with the wrong sequence, or a gap between
segments: start-up stops with the file, the offset, what follows and the
command an operator can run to accept the loss (``stx journal repair``),
because guessing would trade on a state that never existed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.journal.files import list_segments, sync_directory
from server.journal.format import (
    HEADER_SIZE,
    Damage,
    IntactRecords,
    SegmentReader,
    intact_records_after,
)
from server.journal.snapshots import load_latest_snapshot
from server.journal.writer import Durability, JournalWriter

_log = logging.getLogger(__name__)


class JournalCorruptError(RuntimeError):
    """Acknowledged history cannot be read back; start-up must stop."""


@dataclass(frozen=True)
class Truncation:
    """What recovery cut off the last segment, and why."""

    segment: Path
    damage: Damage
    bytes_cut: int
    kept_as: Path
    """Where the cut bytes were copied before the file was truncated."""

    def __str__(self) -> str:
        return (
            f"{self.segment.name}: {self.damage}; cut {self.bytes_cut} bytes "
            f"(kept as {self.kept_as.name})"
        )


@dataclass
class Recovery:
    directory: Path
    snapshot: dict[str, Any] | None
    """The snapshot loaded: ``format``, ``sequence``, ``state_hash``, ``data``."""
    records: list[tuple[int, bytes]] = field(default_factory=list)
    """``(sequence, payload)`` of every record after the snapshot, in order."""
    last_sequence: int = 0
    """The last sequence the journal (or the snapshot) holds; 0 when empty."""
    truncation: Truncation | None = None

    @property
    def snapshot_sequence(self) -> int:
        return 0 if self.snapshot is None else int(self.snapshot["sequence"])

    @property
    def truncated(self) -> str | None:
        """What was cut off the tail, if anything, in words."""
        return None if self.truncation is None else str(self.truncation)

    def open_writer(
        self,
        durability: Durability = Durability.BATCH,
        fsync_interval: float = 0.005,
        fsync: Callable[[int], None] = os.fsync,
    ) -> JournalWriter:
        """A writer that appends ``last_sequence + 1`` onwards to the last segment."""
        return JournalWriter(
            self.directory, self.last_sequence + 1, durability, fsync_interval, fsync
        )


def recover(directory: Path) -> Recovery:
    """Load the newest snapshot and the records after it, cutting a damaged
    tail off the last segment; raise ``JournalCorruptError`` on anything else."""
    directory.mkdir(parents=True, exist_ok=True)
    snapshot = load_latest_snapshot(directory)
    result = Recovery(directory, snapshot)
    base = result.snapshot_sequence
    segments = list_segments(directory)
    end: int | None = None
    """The sequence due after the previous segment's last record."""
    for index, (first, path) in enumerate(segments):
        if end is not None and first != end:
            raise JournalCorruptError(
                f"{path}: starts at sequence {first}, but the segment before it ends at "
                f"{end - 1}: the journal has a gap or an overlap. {repair_hint(directory)}"
            )
        data = path.read_bytes()
        reader = SegmentReader(data, first)
        result.records.extend(record for record in reader if record[0] > base)
        end = first if reader.next_sequence is None else reader.next_sequence
        damage = reader.damage
        is_last = index == len(segments) - 1
        if damage is None or (is_last and not data):
            continue  # an empty last segment: created just before a crash
        if not (is_last and _torn(data, damage)):
            raise JournalCorruptError(
                f"{path}, offset {damage.offset}: {damage}. Records there were acknowledged; "
                f"restore the file rather than start without them. {repair_hint(directory)}"
            )
        intact = intact_records_after(data, damage.offset, end)
        if intact is not None:
            raise JournalCorruptError(_not_a_tail(path, damage, end, intact))
        result.truncation = _cut(path, data, damage)
    if segments:
        if segments[0][0] > base + 1:
            raise JournalCorruptError(
                f"records {base + 1}..{segments[0][0] - 1} are missing: the snapshot ends at "
                f"{base} and the oldest segment, {segments[0][1]}, starts at {segments[0][0]}"
            )
        assert end is not None
        result.last_sequence = end - 1
        if result.last_sequence < base:
            raise JournalCorruptError(
                f"the journal ends at {result.last_sequence} ({segments[-1][1]}), "
                f"before the snapshot at {base}"
            )
    else:
        result.last_sequence = base
    return result


def repair_hint(directory: Path) -> str:
    """The operator's way out, quoted in every refusal to start."""
    return (
        f"To give up what cannot be read instead, `stx journal repair --data-dir {directory}` "
        "says what it would move aside and lose; add --accept-loss to do it"
    )


def _not_a_tail(path: Path, damage: Damage, due: int, intact: IntactRecords) -> str:
    return (
        f"{path}, offset {damage.offset}: {damage}, but {intact.count} intact records "
        f"follow it (sequences {intact.first_sequence}..{intact.last_sequence}, the first at "
        f"offset {intact.first_offset}): this is damage to acknowledged history, not a torn "
        f"tail, and cutting it would lose records {due}..{intact.last_sequence}. Restore the "
        f"file from a copy. {repair_hint(path.parent)}"
    )


def _torn(data: bytes, damage: Damage) -> bool:
    """Whether ``damage`` at the end of the last segment is what a crash can leave.
    A damaged header is, when the file holds nothing else: the header is made
    durable before any record is written after it."""
    return damage.problem.crash_artefact or len(data) <= HEADER_SIZE


def _cut(path: Path, data: bytes, damage: Damage) -> Truncation:
    tail = data[damage.offset :]
    kept = _keep(path, damage.offset, tail)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, damage.offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    truncation = Truncation(path, damage, len(tail), kept)
    _log.warning("journal tail damaged, not applied: %s", truncation)
    return truncation


def _keep(path: Path, offset: int, tail: bytes) -> Path:
    """Copy cut bytes aside (durably) so that a cut never destroys evidence."""
    kept = path.with_name(f"{path.name}.cut-{offset}")
    attempt = 1
    while kept.exists():
        attempt += 1
        kept = path.with_name(f"{path.name}.cut-{offset}-{attempt}")
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(tail)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    sync_directory(path.parent)
    return kept
