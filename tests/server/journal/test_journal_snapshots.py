"""Snapshots: atomic files, fallback past damaged ones, pruning of old history."""

import hashlib
import json
import logging
from pathlib import Path

import pytest

from server.journal import (
    Durability,
    JournalWriter,
    load_latest_snapshot,
    prune,
    recover,
    write_snapshot,
)


def _names(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def test_a_snapshot_is_written_whole_under_its_name(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, 42, "abc", {"engine": {"books": [[1, "x"]]}})
    assert path.name == "snapshot-00000000000000000042.json"
    assert _names(tmp_path) == {path.name}  # no temporary file left behind
    header, body = path.read_bytes().split(b"\n", 1)
    assert json.loads(body) == {
        "sequence": 42,
        "state_hash": "abc",
        "data": {"engine": {"books": [[1, "x"]]}},
    }
    assert json.loads(header) == {
        "format": 2,
        "sha256": hashlib.sha256(body).hexdigest(),
        "length": len(body),
    }
    assert load_latest_snapshot(tmp_path) == {"format": 2, **json.loads(body)}


def test_rewriting_the_same_snapshot_replaces_it(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 5, "first", {})
    write_snapshot(tmp_path, 5, "second", {})
    snapshot = load_latest_snapshot(tmp_path)
    assert snapshot is not None
    assert snapshot["state_hash"] == "second"


@pytest.mark.parametrize(
    "newest",
    [
        '{"format": 1, "sequence": 9, "state_hash": "x", "da',  # cut short
        "",
        "[1, 2]",
        '{"format": 2, "sequence": 9, "state_hash": "x", "data": {}}',
        '{"format": 1, "sequence": 8, "state_hash": "x", "data": {}}',  # wrong name
        '{"format": 1, "sequence": 9, "state_hash": "x"}',  # no data
        '{"format": 1, "sequence": 9, "data": {}}',  # no hash
    ],
)
def test_a_damaged_newest_snapshot_falls_back_to_an_older_one(
    tmp_path: Path, newest: str, caplog: pytest.LogCaptureFixture
) -> None:
    write_snapshot(tmp_path, 3, "old", {"n": 3})
    (tmp_path / "snapshot-00000000000000000009.json").write_text(newest)
    with caplog.at_level(logging.WARNING):
        snapshot = load_latest_snapshot(tmp_path)
    assert snapshot is not None
    assert snapshot["state_hash"] == "old"
    assert "skipping snapshot snapshot-00000000000000000009.json" in caplog.text


def test_leftover_temporary_files_are_ignored(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 3, "old", {})
    (tmp_path / "snapshot-00000000000000000007.json.tmp").write_text('{"format": 1, "seq')
    (tmp_path / "snapshot-bogus.json").write_text("not one of ours")
    snapshot = load_latest_snapshot(tmp_path)
    assert snapshot is not None
    assert snapshot["sequence"] == 3
    assert load_latest_snapshot(tmp_path / "missing") is None


def test_recovery_uses_an_older_snapshot_when_the_newest_is_damaged(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, durability=Durability.NONE)
    for sequence in range(1, 7):
        writer.append(sequence, b"%d" % sequence)
        if sequence in {2, 4}:
            writer.roll()
            write_snapshot(tmp_path, sequence, f"state-{sequence}", {})
    writer.close_sync()
    (tmp_path / "snapshot-00000000000000000004.json").write_text("{")
    recovery = recover(tmp_path)
    assert recovery.snapshot_sequence == 2
    assert [sequence for sequence, _ in recovery.records] == [3, 4, 5, 6]


def _history(directory: Path, snapshots: tuple[int, ...], last: int) -> None:
    """Records 1..last, a roll and a snapshot after each sequence in ``snapshots``."""
    writer = JournalWriter(directory, durability=Durability.NONE)
    for sequence in range(1, last + 1):
        writer.append(sequence, b"r%d" % sequence)
        if sequence in snapshots:
            writer.roll()
            write_snapshot(directory, sequence, f"state-{sequence}", {"at": sequence})
    writer.close_sync()


def test_prune_keeps_the_newest_snapshots_and_the_segments_they_need(tmp_path: Path) -> None:
    _history(tmp_path, (10, 20, 30), last=35)
    (tmp_path / "journal-00000000000000000001.log.cut-99").write_bytes(b"torn")
    (tmp_path / "snapshot-00000000000000000025.json.tmp").write_text("{")  # abandoned
    (tmp_path / "snapshot-00000000000000000040.json.tmp").write_text("{")  # maybe in progress
    removed = {path.name for path in prune(tmp_path, keep=2)}
    assert removed == {
        "snapshot-00000000000000000010.json",
        "journal-00000000000000000001.log",
        "journal-00000000000000000001.log.cut-99",
        "journal-00000000000000000011.log",
        "snapshot-00000000000000000025.json.tmp",
    }
    assert _names(tmp_path) == {
        "snapshot-00000000000000000020.json",
        "snapshot-00000000000000000030.json",
        "journal-00000000000000000021.log",
        "journal-00000000000000000031.log",
        "snapshot-00000000000000000040.json.tmp",
    }
    recovery = recover(tmp_path)
    assert recovery.snapshot_sequence == 30
    assert [sequence for sequence, _ in recovery.records] == [31, 32, 33, 34, 35]
    # The older snapshot kept still has every record it needs.
    (tmp_path / "snapshot-00000000000000000030.json").write_text("")
    recovery = recover(tmp_path)
    assert recovery.snapshot_sequence == 20
    assert [sequence for sequence, _ in recovery.records] == list(range(21, 36))


def test_prune_leaves_history_alone_until_there_are_more_snapshots_than_kept(
    tmp_path: Path,
) -> None:
    _history(tmp_path, (10, 20), last=25)
    assert prune(tmp_path, keep=2) == []
    assert prune(tmp_path / "missing") == []
    assert recover(tmp_path).last_sequence == 25
    with pytest.raises(ValueError, match="keep at least one"):
        prune(tmp_path, keep=0)


def test_prune_never_deletes_the_segment_being_written(tmp_path: Path) -> None:
    _history(tmp_path, (3, 5), last=5)  # the last roll left segment 6, still empty
    assert {path.name for path in prune(tmp_path, keep=1)} == {
        "snapshot-00000000000000000003.json",
        "journal-00000000000000000001.log",
        "journal-00000000000000000004.log",
    }
    assert _names(tmp_path) == {
        "snapshot-00000000000000000005.json",
        "journal-00000000000000000006.log",
    }
    recovery = recover(tmp_path)
    assert (recovery.snapshot_sequence, recovery.records, recovery.last_sequence) == (5, [], 5)
    writer = recovery.open_writer(durability=Durability.NONE)
    writer.append(6, b"r6")
    writer.close_sync()
    assert recover(tmp_path).records == [(6, b"r6")]
