"""Giving up unreadable history, explicitly: what ``stx journal repair`` does.

Recovery refuses to start when damage is followed by records that were
acknowledged (``recovery``). If no intact copy of the file exists, an
operator may accept losing everything from the damage on. The repair then
truncates the journal at the first damage and moves (never deletes) into a
``damaged-<UTC time>/`` folder of the data directory:

- the bytes from the damage to the end of that segment (``<segment>.from-<offset>``),
  or the whole segment when nothing readable precedes the damage;
- every later segment, with the tails recovery cut from it;
- every snapshot taken after the new end of the journal, which describes
  a state the journal no longer leads to, and every snapshot failing its
  checksum.

It refuses when what remains could not be recovered (the records before the
damage are only in a snapshot it would have to move), since starting then
would silently lose even more. The store may have projected some of the
lost records; the projector refuses to start in that case
(``StoreAheadError``) rather than mix two histories.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from server.journal.check import JournalState, SegmentState
from server.journal.files import sync_directory
from server.journal.format import HEADER_SIZE


class RepairRefusedError(RuntimeError):
    """What is left after the cut could not be recovered."""


@dataclass
class RepairPlan:
    directory: Path
    cut: SegmentState | None
    """The segment truncated (or moved whole), None when the journal is sound."""
    cut_offset: int = 0
    moved: list[Path] = field(default_factory=list)
    """Files moved aside whole."""
    new_end: int = 0
    """The last sequence the journal holds after the repair."""
    lost_last: int | None = None
    """The last lost sequence known from intact records, None if none was readable."""

    @property
    def lost_first(self) -> int:
        return self.new_end + 1

    @property
    def lost_count(self) -> int:
        return 0 if self.lost_last is None else self.lost_last - self.new_end

    @property
    def needed(self) -> bool:
        return self.cut is not None or bool(self.moved)

    def describe(self) -> list[str]:
        """What the repair does and loses, in words, one line each."""
        if not self.needed:
            return ["nothing to repair: recovery starts from this data directory as it is"]
        lines = []
        if self.cut is not None:
            name = self.cut.path.name
            if self.cut_offset <= HEADER_SIZE:
                lines.append(f"move {name} aside whole (nothing readable precedes its damage)")
            else:
                size = self.cut.path.stat().st_size
                lines.append(
                    f"truncate {name} at offset {self.cut_offset}, moving its last "
                    f"{size - self.cut_offset} bytes aside"
                )
        lines.extend(f"move {path.name} aside" for path in self.moved)
        if self.cut is None:
            lines.append("no journal record is lost")
        elif self.lost_last is None:
            lines.append(
                f"the journal will end at sequence {self.new_end}; no readable record after it"
            )
        else:
            lines.append(
                f"LOST: records {self.lost_first}..{self.lost_last} ({self.lost_count} records, "
                f"acknowledged); the journal will end at sequence {self.new_end}"
            )
        return lines


def plan_repair(state: JournalState) -> RepairPlan:
    """What ``apply_repair`` would do to ``state``'s directory; changes nothing.
    ``RepairRefusedError`` if what would be left cannot be recovered."""
    plan = RepairPlan(state.directory, None)
    index = state.first_damaged
    segments = state.segments
    later: list[SegmentState] = []
    if index is not None:
        cut = plan.cut = segments[index]
        later = segments[index + 1 :]
        if cut.gap_from is not None:
            plan.cut_offset = 0
            plan.new_end = cut.gap_from - 1
        else:
            assert cut.damage is not None
            plan.cut_offset = cut.damage.offset if cut.readable else 0
            plan.new_end = cut.due - 1
        known = [cut.last_known if cut.gap_from is None else cut.due - 1]
        known += [segment.last_known for segment in later]
        # A snapshot after the end proves its records existed, even unreadable.
        known += [s.sequence for s in state.snapshots if s.problem is None]
        plan.lost_last = max((n for n in known if n is not None and n > plan.new_end), default=None)
        for segment in later:
            plan.moved.append(segment.path)
            plan.moved.extend(sorted(state.directory.glob(segment.path.name + ".cut-*")))
    usable = None
    for snapshot in state.snapshots:
        if snapshot.problem is not None or (index is not None and snapshot.sequence > plan.new_end):
            plan.moved.append(snapshot.path)
        else:
            usable = snapshot.sequence
    if index is not None:
        _check_recoverable(plan, segments[:index], usable or 0)
    return plan


def _check_recoverable(plan: RepairPlan, before: list[SegmentState], base: int) -> None:
    """Refuse a repair after which recovery would fail or silently start short."""
    assert plan.cut is not None
    kept_first = before[0].first if before else plan.cut.first
    keeps_cut = plan.cut_offset > HEADER_SIZE
    if (before or keeps_cut) and kept_first <= base + 1:
        return
    if not before and not keeps_cut and base == plan.new_end:
        return
    raise RepairRefusedError(
        f"after the cut the journal would hold {kept_first}..{plan.new_end} and the newest "
        f"usable snapshot is at {base}: records {base + 1}..{kept_first - 1} exist nowhere else. "
        "Restore the data directory from a backup instead"
    )


def apply_repair(plan: RepairPlan, now: float | None = None) -> Path | None:
    """Carry ``plan`` out; returns the folder the damaged files went to.

    The bytes cut are copied out and made durable before anything is
    truncated, and files are moved (renamed) before the cut, so a crash in
    the middle leaves a directory that is at worst damaged as before (and
    repaired again) with nothing lost from the folder."""
    if not plan.needed:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    folder = plan.directory / f"damaged-{stamp}"
    folder.mkdir(mode=0o700)
    cut = plan.cut
    truncate = cut is not None and plan.cut_offset > HEADER_SIZE
    if cut is not None and truncate:
        tail = cut.path.read_bytes()[plan.cut_offset :]
        _write_durably(folder / f"{cut.path.name}.from-{plan.cut_offset}", tail)
    moved = list(plan.moved)
    if cut is not None and not truncate:
        moved.insert(0, cut.path)
    for path in moved:
        os.rename(path, folder / path.name)
    sync_directory(folder)
    sync_directory(plan.directory)
    if cut is not None and truncate:
        fd = os.open(cut.path, os.O_WRONLY)
        try:
            os.ftruncate(fd, plan.cut_offset)
            os.fsync(fd)
        finally:
            os.close(fd)
    return folder


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
