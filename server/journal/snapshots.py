"""Engine snapshots on disk, written atomically, and pruning of old history.

A snapshot is written to a temporary file, fsynced, renamed into place and
its directory fsynced, so a crash leaves either the old set of snapshots or
the new one, never a half-written file under a snapshot's name. Loading
still checks every candidate and falls back to an older one, because a disk
can lie and a file can be copied in by hand; that fallback is why pruning
keeps more than one snapshot, and the journal segments from the oldest kept.

Format 2 covers every byte with a checksum verified before anything is
parsed: a one-line JSON header ``{"format":2,"sha256":...,"length":...}``
then the body, the JSON ``{"sequence","state_hash","data"}``, whose SHA-256
and length the header gives. A changed byte in the body fails the hash; in
the header it fails the header's own checks or the comparison. (A checksum
detects damage, not an attacker who can write the data directory: he could
recompute it, as he could rewrite the journal's CRCs. The 0600/0700
permissions are what keep others out.)

Format 1, written by earlier versions, is one JSON object with no checksum.
It is still loaded, with a warning: refusing it would make an upgraded
server whose older segments were pruned unable to start at all, and the
engine part is still checked against the state hash the core compares on
restore. The first snapshot the new version takes is format 2.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from server.journal.files import (
    list_segments,
    list_snapshot_temporaries,
    list_snapshots,
    snapshot_name,
    sync_directory,
)

FORMAT = 2
LEGACY_FORMAT = 1
_DIGEST = re.compile(r"[0-9a-f]{64}")
_log = logging.getLogger(__name__)


class SnapshotError(ValueError):
    """A snapshot file that cannot be trusted; why, in words."""


def encode_snapshot(sequence: int, state_hash: str, data: dict[str, Any]) -> bytes:
    """A snapshot file's bytes: the checksummed header line, then the body."""
    # dumps, not dump: dump streams through the pure-Python encoder, several
    # times slower on the large states an exchange accumulates.
    body = json.dumps(
        {"sequence": sequence, "state_hash": state_hash, "data": data}, separators=(",", ":")
    ).encode()
    header = {"format": FORMAT, "sha256": hashlib.sha256(body).hexdigest(), "length": len(body)}
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def write_snapshot(directory: Path, sequence: int, state_hash: str, data: dict[str, Any]) -> Path:
    """Write the state after record ``sequence``; returns the snapshot's path.

    ``data`` must survive a JSON round trip unchanged (string keys, lists not
    tuples): what is loaded back is what ``json`` gives."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / snapshot_name(sequence)
    temporary = path.with_name(path.name + ".tmp")
    encoded = encode_snapshot(sequence, state_hash, data)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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


def decode_snapshot(raw: bytes, sequence: int) -> dict[str, Any]:
    """A snapshot's content (``format``, ``sequence``, ``state_hash``,
    ``data``) from its file's bytes; ``SnapshotError`` saying why if it
    cannot be trusted. The checksum is verified before the body is parsed."""
    newline = raw.find(b"\n")
    if newline < 0:
        return _legacy(raw, sequence)
    try:
        header = json.loads(raw[:newline])
    except ValueError:
        raise SnapshotError("the header line is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else header
        raise SnapshotError(f"unknown format {found!r}")
    digest, length = header.get("sha256"), header.get("length")
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise SnapshotError("the header has no valid sha256")
    if type(length) is not int or set(header) != {"format", "sha256", "length"}:
        raise SnapshotError("the header is malformed")
    body = raw[newline + 1 :]
    if len(body) != length:
        raise SnapshotError(f"the body has {len(body)} bytes, the header says {length}")
    if hashlib.sha256(body).hexdigest() != digest:
        raise SnapshotError("SHA-256 mismatch: the snapshot was altered or damaged")
    content = json.loads(body)
    if not isinstance(content, dict) or set(content) != {"sequence", "state_hash", "data"}:
        raise SnapshotError("the body is not a snapshot's JSON object")
    return _checked({"format": FORMAT, **content}, sequence)


def _legacy(raw: bytes, sequence: int) -> dict[str, Any]:
    """A format 1 snapshot: one JSON object, no checksum (see the module doc)."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise SnapshotError("neither a checksummed snapshot nor format 1 JSON") from None
    if not isinstance(body, dict):
        raise SnapshotError("not a JSON object")
    if body.get("format") != LEGACY_FORMAT:
        raise SnapshotError(f"unknown format {body.get('format')!r}")
    return _checked(body, sequence)


def _checked(body: dict[str, Any], sequence: int) -> dict[str, Any]:
    if body.get("sequence") != sequence:
        raise SnapshotError(f"sequence {body.get('sequence')!r} does not match its name")
    if not isinstance(body.get("state_hash"), str) or not isinstance(body.get("data"), dict):
        raise SnapshotError("state_hash or data missing")
    if set(body) != {"format", "sequence", "state_hash", "data"}:
        raise SnapshotError(f"unexpected fields {sorted(set(body))}")
    return body


def read_snapshot(path: Path, sequence: int) -> dict[str, Any]:
    """The snapshot in ``path``; ``SnapshotError`` (or ``OSError``) if it
    cannot be trusted. A format 1 snapshot is logged: it is not verified."""
    body = decode_snapshot(path.read_bytes(), sequence)
    if body["format"] == LEGACY_FORMAT:
        _log.warning(
            "snapshot %s is format 1 (no checksum, from an earlier version): loaded unverified",
            path.name,
        )
    return body


def load_latest_snapshot(directory: Path) -> dict[str, Any] | None:
    """The newest complete snapshot (``format``, ``sequence``, ``state_hash``,
    ``data``), or None. Damaged newer ones are skipped with a warning."""
    for sequence, path in reversed(list_snapshots(directory)):
        try:
            return read_snapshot(path, sequence)
        except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
            _log.warning("skipping snapshot %s: %s", path.name, error)
    return None


def load_snapshot_at_or_before(directory: Path, sequence: int) -> dict[str, Any] | None:
    """The newest complete snapshot taken at or before ``sequence``, or None."""
    for taken, path in reversed(list_snapshots(directory)):
        if taken > sequence:
            continue
        try:
            return read_snapshot(path, taken)
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
