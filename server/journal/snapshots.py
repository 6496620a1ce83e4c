"""Engine snapshots on disk, written atomically, and pruning of old history.

A snapshot is written to a temporary file, fsynced, renamed into place and
its directory fsynced, so a crash leaves either the old set of snapshots or
the new one, never a half-written file under a snapshot's name. Loading
still checks every candidate and falls back to an older one, because a disk
can lie and a file can be copied in by hand; that fallback is why pruning
keeps more than one snapshot, and the journal segments from the oldest kept.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from pathlib import Path
from typing import Any

from server.journal.files import (
    list_segments,
    list_snapshot_temporaries,
    list_snapshots,
    snapshot_name,
    sync_directory,
)

FORMAT = 1
_log = logging.getLogger(__name__)


def write_snapshot(directory: Path, sequence: int, state_hash: str, data: dict[str, Any]) -> Path:
    """Write the state after record ``sequence``; returns the snapshot's path.

    ``data`` must survive a JSON round trip unchanged (string keys, lists not
    tuples): what is loaded back is what ``json`` gives."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / snapshot_name(sequence)
    temporary = path.with_name(path.name + ".tmp")
    body = {"format": FORMAT, "sequence": sequence, "state_hash": state_hash, "data": data}
    # dumps, not dump: dump streams through the pure-Python encoder, several
    # times slower on the large states an exchange accumulates.
    encoded = json.dumps(body, separators=(",", ":")).encode()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(encoded)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    sync_directory(directory)
    return path


def _read(path: Path, sequence: int) -> dict[str, Any]:
    """A snapshot file's content; ``ValueError`` if it is not a complete one."""
    body = json.loads(path.read_bytes())
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    if body.get("format") != FORMAT:
        raise ValueError(f"unknown format {body.get('format')!r}")
    if body.get("sequence") != sequence:
        raise ValueError(f"sequence {body.get('sequence')!r} does not match its name")
    if not isinstance(body.get("state_hash"), str) or not isinstance(body.get("data"), dict):
        raise ValueError("state_hash or data missing")
    return body


def load_latest_snapshot(directory: Path) -> dict[str, Any] | None:
    """The newest complete snapshot (``format``, ``sequence``, ``state_hash``,
    ``data``), or None. Damaged newer ones are skipped with a warning."""
    for sequence, path in reversed(list_snapshots(directory)):
        try:
            return _read(path, sequence)
        except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
            _log.warning("skipping snapshot %s: %s", path.name, error)
    return None


def load_snapshot_at_or_before(directory: Path, sequence: int) -> dict[str, Any] | None:
    """The newest complete snapshot taken at or before ``sequence``, or None."""
    for taken, path in reversed(list_snapshots(directory)):
        if taken > sequence:
            continue
        try:
            return _read(path, taken)
        except (OSError, ValueError) as error:
            _log.warning("skipping snapshot %s: %s", path.name, error)
    return None


def prune(directory: Path, keep: int = 2, needed_from: int | None = None) -> list[Path]:
    """Once there are more than ``keep`` snapshots, delete the older ones and
    the journal segments whose records all precede the oldest snapshot kept
    (with the tails recovery cut from them); also temporary files that no
    snapshot writer can still be using. Returns what it deleted.

    Snapshots are counted, not parsed (that would block the caller for as
    long as loading them): a damaged kept snapshot falls back on the other.
    """
    if keep < 1:
        raise ValueError("keep at least one snapshot")
    snapshots = list_snapshots(directory)
    removed: list[Path] = []
    if needed_from is not None:
        # A reader that is behind (the store's projector) restarts from the
        # newest snapshot at or before its position, and reads every record after.
        usable = [index for index, (taken, _) in enumerate(snapshots) if taken <= needed_from]
        first_needed = usable[-1] if usable else 0
        keep = max(keep, len(snapshots) - first_needed)
    if len(snapshots) > keep:
        for _, path in snapshots[:-keep]:
            removed.append(path)
        oldest_kept = snapshots[-keep][0]
        for (_, segment), (following, _) in itertools.pairwise(list_segments(directory)):
            # A segment ends just before the next one starts; the newest is never deleted.
            if following - 1 <= oldest_kept:
                removed.append(segment)
                removed.extend(directory.glob(segment.name + ".cut-*"))
    if snapshots:
        newest = snapshots[-1][0]
        removed.extend(
            path for sequence, path in list_snapshot_temporaries(directory) if sequence <= newest
        )
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        sync_directory(directory)
    return removed
