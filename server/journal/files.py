"""File names in the journal directory, and where a writer may append.

Names carry the sequence number zero-padded to 20 digits (the width of a
u64), so sorting names sorts by sequence. Listing parses names strictly:
anything else in the directory (an editor's backup, a cut-off tail kept for
inspection) is not mistaken for a segment or a snapshot.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from server.journal.format import scan

_SEGMENT = re.compile(r"journal-(\d{20})\.log")
_SNAPSHOT = re.compile(r"snapshot-(\d{20})\.json")
_SNAPSHOT_TEMPORARY = re.compile(r"snapshot-(\d{20})\.json\.tmp")


def segment_name(first_sequence: int) -> str:
    return f"journal-{first_sequence:020d}.log"


def snapshot_name(sequence: int) -> str:
    return f"snapshot-{sequence:020d}.json"


def _numbered(directory: Path, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
    if not directory.is_dir():
        return []
    found = []
    for entry in os.scandir(directory):
        match = pattern.fullmatch(entry.name)
        if match is not None and entry.is_file():
            found.append((int(match.group(1)), Path(entry.path)))
    return sorted(found)


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """``(first sequence, path)`` of every segment, oldest first."""
    return _numbered(directory, _SEGMENT)


def list_snapshots(directory: Path) -> list[tuple[int, Path]]:
    """``(sequence, path)`` of every snapshot file, oldest first (not checked)."""
    return _numbered(directory, _SNAPSHOT)


def list_snapshot_temporaries(directory: Path) -> list[tuple[int, Path]]:
    """Temporary files of snapshots being written, or abandoned by a crash."""
    return _numbered(directory, _SNAPSHOT_TEMPORARY)


def sync_directory(directory: Path) -> None:
    """fsync a directory, so that a file created or renamed in it
    survives a power loss under its new name (fsync of the file alone does not
    make the directory entry durable)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_position(directory: Path, next_sequence: int) -> tuple[int, Path, bool] | None:
    """Where a writer whose first record is ``next_sequence`` appends:
    ``(first sequence, path, empty)`` of the newest segment, or None when there
    is no segment yet. Raises ``ValueError`` unless that segment is undamaged
    and ends exactly before ``next_sequence`` (or is empty and starts there):
    appending anywhere else would leave a journal recovery has to cut."""
    segments = list_segments(directory)
    if not segments:
        return None
    first, path = segments[-1]
    data = path.read_bytes()
    if not data:
        # Created just before a crash, or cut back to nothing by recovery.
        if first != next_sequence:
            raise ValueError(f"{path.name} is empty; it can only take {first}, not {next_sequence}")
        return first, path, True
    found = scan(data, first)
    if found.damage is not None:
        raise ValueError(f"{path.name}: {found.damage}; run recover() before writing")
    end = first if found.next_sequence is None else found.next_sequence
    if end != next_sequence:
        raise ValueError(
            f"the journal ends at {end - 1} ({path.name}); "
            f"appending {next_sequence} would break the sequence"
        )
    return first, path, False
