"""Reading the journal back at start-up.

Recovery = the newest snapshot + every record after it, in order. A torn or
corrupt tail of the last segment is what a crash mid-write leaves: it is cut
off (the file truncated and fsynced) and logged, never applied. Damage
anywhere else, or a gap in the sequence, means records that were once
acknowledged are unreadable: that stops the start-up with the file and
offset, because guessing would trade on a state that never existed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.journal.format import scan
from server.journal.snapshots import load_latest_snapshot

_log = logging.getLogger(__name__)


class JournalCorruptError(RuntimeError):
    """Acknowledged history cannot be read back; start-up must stop."""


@dataclass
class Recovery:
    snapshot: dict[str, Any] | None
    records: list[tuple[int, bytes]] = field(default_factory=list)
    """Records after the snapshot's sequence, in order."""
    last_sequence: int = 0
    truncated: str | None = None
    """What was cut off the tail, if anything."""


def recover(directory: Path) -> Recovery:
    directory.mkdir(parents=True, exist_ok=True)
    snapshot = load_latest_snapshot(directory)
    base = snapshot["sequence"] if snapshot is not None else 0
    result = Recovery(snapshot=snapshot, last_sequence=base)
    segments = sorted(directory.glob("journal-*.log"))
    expected: int | None = None
    for index, path in enumerate(segments):
        first = int(path.stem.split("-")[1])
        if expected is not None and first != expected:
            raise JournalCorruptError(f"{path.name}: starts at {first}, expected {expected}")
        data = path.read_bytes()
        found = scan(data, first)
        if found.problem is not None:
            if index != len(segments) - 1:
                raise JournalCorruptError(f"{path.name}: {found.problem}")
            result.truncated = (
                f"{path.name}: {found.problem}; cut {len(data) - found.valid_end} bytes"
            )
            _log.warning("journal tail damaged, truncating: %s", result.truncated)
            _truncate(path, found.valid_end)
        expected = first + len(found.records)
        for sequence, payload in found.records:
            if sequence > base:
                result.records.append((sequence, payload))
    if result.records and result.records[0][0] != base + 1:
        raise JournalCorruptError(
            f"records {base + 1}..{result.records[0][0] - 1} after the snapshot are missing"
        )
    if expected is not None and expected - 1 < base:
        raise JournalCorruptError(f"journal ends at {expected - 1}, before the snapshot {base}")
    if result.records:
        result.last_sequence = result.records[-1][0]
    return result


def _truncate(path: Path, size: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)
