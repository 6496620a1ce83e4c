"""A read-only examination of a data directory's journal and snapshots.

It applies recovery's rules without changing anything, for ``stx journal
verify`` and to plan ``stx journal repair``: every segment is read whole
and, where it is damaged, searched for the intact records after the damage;
every snapshot's checksum is verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.journal.files import list_segments, list_snapshots
from server.journal.format import HEADER_SIZE, Damage, IntactRecords, SegmentReader
from server.journal.format import intact_records_after as find_intact_after
from server.journal.snapshots import decode_snapshot


@dataclass(frozen=True)
class SegmentState:
    path: Path
    first: int
    """The sequence its name promises."""
    readable: int
    """Records read before the damage (all of them when there is none)."""
    damage: Damage | None
    intact_after: IntactRecords | None
    """Intact records found after the damage."""
    gap_from: int | None
    """The sequence due when the segment starts elsewhere (a gap or an overlap)."""
    is_last: bool

    @property
    def due(self) -> int:
        """The sequence after the last readable record."""
        return self.first + self.readable

    @property
    def torn_tail(self) -> bool:
        """Damage recovery cuts as a crash artefact: at the end of the last
        segment, with nothing intact after it."""
        if self.damage is None or not self.is_last or self.intact_after is not None:
            return False
        return self.damage.problem.crash_artefact or self.damage.offset < HEADER_SIZE

    @property
    def damaged(self) -> bool:
        """Whether recovery refuses to start on this segment."""
        return self.gap_from is not None or (self.damage is not None and not self.torn_tail)

    @property
    def last_known(self) -> int | None:
        """The highest sequence readable in it, damage or not."""
        if self.intact_after is not None:
            return self.intact_after.last_sequence
        return self.due - 1 if self.readable else None

    def describe(self) -> str:
        text = f"records {self.first}..{self.due - 1}" if self.readable else "no readable record"
        if self.gap_from is not None:
            return f"{text}; DAMAGED: starts at {self.first} where {self.gap_from} was due (a gap)"
        if self.damage is None:
            return f"{text}, intact"
        if self.torn_tail:
            size = self.path.stat().st_size
            return (
                f"{text}, then a torn tail of {size - self.damage.offset} bytes "
                f"({self.damage}) that recovery cuts: a crash artefact"
            )
        text = f"{text}; DAMAGED: {self.damage}"
        if self.intact_after is not None:
            intact = self.intact_after
            text += (
                f"; {intact.count} intact records follow "
                f"({intact.first_sequence}..{intact.last_sequence})"
            )
        return text


@dataclass(frozen=True)
class SnapshotState:
    path: Path
    sequence: int
    format: int | None
    problem: str | None

    def describe(self) -> str:
        if self.problem is not None:
            return f"sequence {self.sequence}; DAMAGED: {self.problem}"
        if self.format == 1:
            return f"sequence {self.sequence}, format 1: no checksum, not verifiable"
        return f"sequence {self.sequence}, SHA-256 verified"


@dataclass(frozen=True)
class JournalState:
    directory: Path
    segments: list[SegmentState]
    snapshots: list[SnapshotState]

    @property
    def first_damaged(self) -> int | None:
        """The index of the first segment recovery refuses, if any."""
        return next((i for i, segment in enumerate(self.segments) if segment.damaged), None)

    @property
    def damaged(self) -> bool:
        return self.first_damaged is not None or any(s.problem for s in self.snapshots)


def examine(directory: Path) -> JournalState:
    """Read every segment and snapshot of ``directory``; changes nothing."""
    listed = list_segments(directory)
    segments: list[SegmentState] = []
    due: int | None = None
    for index, (first, path) in enumerate(listed):
        data = path.read_bytes()
        reader = SegmentReader(data, first)
        readable = sum(1 for _ in reader)
        is_last = index == len(listed) - 1
        damage = None if is_last and not data else reader.damage
        intact = None
        if damage is not None and damage.offset >= HEADER_SIZE:
            intact = find_intact_after(data, damage.offset, first + readable)
        gap = due if due is not None and due != first else None
        segments.append(SegmentState(path, first, readable, damage, intact, gap, is_last))
        # Past damage the next segment's start cannot be checked: unknown.
        due = first + readable if damage is None else None
    snapshots = []
    for sequence, path in list_snapshots(directory):
        try:
            body = decode_snapshot(path.read_bytes(), sequence)
        except (OSError, ValueError) as error:
            snapshots.append(SnapshotState(path, sequence, None, str(error)))
        else:
            snapshots.append(SnapshotState(path, sequence, int(body["format"]), None))
    return JournalState(directory, segments, snapshots)
