"""Engine snapshots on disk, written atomically.

A snapshot is written to a temporary file, fsynced, renamed into place and
its directory fsynced, so a crash leaves either the old set of snapshots or
the new one, never a half-written file under a snapshot's name. Loading
skips a newest snapshot that is unreadable anyway (a disk can still lie).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from pathlib import Path
from typing import Any

from server.journal.writer import sync_directory

FORMAT = 1
_log = logging.getLogger(__name__)


def snapshot_name(sequence: int) -> str:
    return f"snapshot-{sequence:020d}.json"


def write_snapshot(directory: Path, sequence: int, state_hash: str, data: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / snapshot_name(sequence)
    temporary = path.with_suffix(".json.tmp")
    body = {"format": FORMAT, "sequence": sequence, "state_hash": state_hash, "data": data}
    with temporary.open("w") as file:
        json.dump(body, file, separators=(",", ":"))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    sync_directory(directory)
    return path


def load_latest_snapshot(directory: Path) -> dict[str, Any] | None:
    """The newest complete snapshot, or None when there is none."""
    for path in sorted(directory.glob("snapshot-*.json"), reverse=True):
        try:
            with path.open() as file:
                body = json.load(file)
            if body.get("format") == FORMAT and body["sequence"] == int(path.stem.split("-")[1]):
                return dict(body)
            _log.warning("skipping snapshot %s: unexpected content", path.name)
        except (OSError, ValueError, KeyError) as error:
            _log.warning("skipping unreadable snapshot %s: %s", path.name, error)
    return None


def prune(directory: Path, keep: int = 2) -> list[Path]:
    """Delete all but the ``keep`` newest snapshots, and the journal segments
    whose records all precede the oldest snapshot kept. Returns what it deleted."""
    snapshots = sorted(directory.glob("snapshot-*.json"))
    removed: list[Path] = []
    if len(snapshots) <= keep:
        return removed
    for path in snapshots[:-keep]:
        path.unlink()
        removed.append(path)
    oldest_kept = int(snapshots[-keep].stem.split("-")[1])
    segments = sorted(directory.glob("journal-*.log"))
    for current, following in itertools.pairwise(segments):
        # A segment ends just before the next one starts.
        if int(following.stem.split("-")[1]) - 1 <= oldest_kept:
            current.unlink()
            removed.append(current)
    for leftover in directory.glob("*.json.tmp"):
        leftover.unlink()
        removed.append(leftover)
    return removed
