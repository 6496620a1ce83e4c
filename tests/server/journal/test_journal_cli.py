"""``stx journal verify`` and ``stx journal repair``, through the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from server.cli import main
from server.datadir import lock_data_dir, unlock_data_dir
from server.journal import Durability, JournalWriter, recover, write_snapshot
from server.journal.format import HEADER_SIZE, PREFIX_SIZE
from server.store import default_url, open_store
from server.store.batch import ProjectionBatch


def _stx(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def _journal(directory: Path, last: int, snapshots: tuple[int, ...] = ()) -> None:
    """Records 1..last (payload ``r<n>``), a roll and a snapshot after each of ``snapshots``."""
    writer = JournalWriter(directory, durability=Durability.NONE)
    for sequence in range(1, last + 1):
        writer.append(sequence, b"r%d" % sequence)
        if sequence in snapshots:
            writer.roll()
            write_snapshot(directory, sequence, f"state-{sequence}", {"at": sequence})
    writer.close_sync()


def _segment(directory: Path, first: int) -> Path:
    return directory / f"journal-{first:020d}.log"


def _offset(first: int, sequence: int) -> int:
    """Where record ``sequence`` starts in the segment starting at ``first``
    (payloads ``r<n>``)."""
    return HEADER_SIZE + sum(PREFIX_SIZE + len(b"r%d" % n) for n in range(first, sequence))


def _flip(path: Path, offset: int) -> bytes:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return bytes(data)


def _files(directory: Path) -> dict[str, bytes]:
    """Every file's content, but the lock file's (a dry run takes the lock too)."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != "stx.lock"
    }


def test_verify_reports_a_sound_directory(tmp_path: Path) -> None:
    _journal(tmp_path, 12, snapshots=(5,))
    result = _stx("journal", "verify", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "journal-00000000000000000001.log: records 1..5, intact" in result.output
    assert "journal-00000000000000000006.log: records 6..12, intact" in result.output
    assert "snapshot-00000000000000000005.json: sequence 5, SHA-256 verified" in result.output
    assert "no damage" in result.output
    repair = _stx("journal", "repair", "--data-dir", str(tmp_path))
    assert repair.exit_code == 0
    assert "nothing to repair" in repair.output


def test_damage_mid_segment_verify_dry_run_then_repair(tmp_path: Path) -> None:
    _journal(tmp_path, 20)
    segment = _segment(tmp_path, 1)
    offset = _offset(1, 8)
    damaged = _flip(segment, offset + PREFIX_SIZE)  # record 8's payload
    before = _files(tmp_path)

    verify = _stx("journal", "verify", "--data-dir", str(tmp_path))
    assert verify.exit_code == 1
    assert f"records 1..7; DAMAGED: CRC mismatch at offset {offset}" in verify.output
    assert "12 intact records follow (9..20)" in verify.output

    dry = _stx("journal", "repair", "--data-dir", str(tmp_path))
    assert dry.exit_code == 0, dry.output
    assert f"truncate {segment.name} at offset {offset}" in dry.output
    assert "LOST: records 8..20 (13 records, acknowledged)" in dry.output
    assert "nothing changed" in dry.output
    assert _files(tmp_path) == before

    done = _stx("journal", "repair", "--data-dir", str(tmp_path), "--accept-loss")
    assert done.exit_code == 0, done.output
    assert "LOST: records 8..20 (13 records" in done.output
    (folder,) = tmp_path.glob("damaged-*")
    assert (folder / f"{segment.name}.from-{offset}").read_bytes() == damaged[offset:]
    assert segment.read_bytes() == damaged[:offset]
    recovery = recover(tmp_path)
    assert recovery.records == [(n, b"r%d" % n) for n in range(1, 8)]
    assert recovery.truncation is None
    assert _stx("journal", "verify", "--data-dir", str(tmp_path)).exit_code == 0


def test_damage_in_an_older_segment_moves_later_segments_and_snapshots(tmp_path: Path) -> None:
    _journal(tmp_path, 14, snapshots=(4, 9))
    segment = _segment(tmp_path, 5)
    _flip(segment, _offset(5, 7) + 2)  # record 7's length field
    dry = _stx("journal", "repair", "--data-dir", str(tmp_path))
    assert "move journal-00000000000000000010.log aside" in dry.output
    assert "move snapshot-00000000000000000009.json aside" in dry.output
    assert "LOST: records 7..14 (8 records" in dry.output
    done = _stx("journal", "repair", "--data-dir", str(tmp_path), "--accept-loss")
    assert done.exit_code == 0, done.output
    (folder,) = tmp_path.glob("damaged-*")
    assert {path.name for path in folder.iterdir()} == {
        f"{segment.name}.from-{_offset(5, 7)}",
        "journal-00000000000000000010.log",
        "snapshot-00000000000000000009.json",
    }
    recovery = recover(tmp_path)
    assert recovery.snapshot_sequence == 4
    assert [sequence for sequence, _ in recovery.records] == [5, 6]
    writer = recovery.open_writer(durability=Durability.NONE)
    writer.append(7, b"after the repair")
    writer.close_sync()
    assert recover(tmp_path).last_sequence == 7


def test_a_damaged_snapshot_is_reported_and_moved_without_loss(tmp_path: Path) -> None:
    _journal(tmp_path, 8, snapshots=(3, 6))
    snapshot = tmp_path / "snapshot-00000000000000000006.json"
    _flip(snapshot, snapshot.stat().st_size - 4)
    verify = _stx("journal", "verify", "--data-dir", str(tmp_path))
    assert verify.exit_code == 1
    assert f"{snapshot.name}: sequence 6; DAMAGED: SHA-256 mismatch" in verify.output
    done = _stx("journal", "repair", "--data-dir", str(tmp_path), "--accept-loss")
    assert "no journal record is lost" in done.output
    assert not snapshot.exists()
    assert recover(tmp_path).snapshot_sequence == 3


def test_repair_refuses_while_a_server_holds_the_directory(tmp_path: Path) -> None:
    _journal(tmp_path, 5)
    _flip(_segment(tmp_path, 1), _offset(1, 2) + PREFIX_SIZE)
    lock = lock_data_dir(tmp_path)
    try:
        result = _stx("journal", "repair", "--data-dir", str(tmp_path), "--accept-loss")
    finally:
        unlock_data_dir(lock)
    assert result.exit_code == 1
    assert "already running" in result.output
    assert not list(tmp_path.glob("damaged-*"))


def test_repair_refuses_when_what_is_left_could_not_be_recovered(tmp_path: Path) -> None:
    _journal(tmp_path, 10, snapshots=(4,))
    _segment(tmp_path, 1).unlink()  # pruned: only the snapshot holds 1..4
    snapshot = tmp_path / "snapshot-00000000000000000004.json"
    _flip(snapshot, snapshot.stat().st_size - 3)
    _flip(_segment(tmp_path, 5), _offset(5, 7) + PREFIX_SIZE)
    before = _files(tmp_path)
    result = _stx("journal", "repair", "--data-dir", str(tmp_path), "--accept-loss")
    assert result.exit_code == 1
    assert "cannot repair" in result.output
    assert "records 1..4 exist nowhere else" in result.output
    assert _files(tmp_path) == before


def _store_at(directory: Path, sequence: int) -> None:
    """The embedded store of ``directory``, projected up to ``sequence``."""

    async def write() -> None:
        store = await open_store(default_url(directory))
        await store.write(ProjectionBatch(last_sequence=sequence))
        await store.close()

    asyncio.run(write())


def test_repair_says_when_the_store_is_past_the_new_end(tmp_path: Path) -> None:
    _journal(tmp_path, 20)
    _flip(_segment(tmp_path, 1), _offset(1, 8) + PREFIX_SIZE)
    dry = _stx("journal", "repair", "--data-dir", str(tmp_path))
    assert "store: no store in the data directory" in dry.output
    assert not (tmp_path / "stx.db").exists()
    _store_at(tmp_path, 15)
    dry = _stx("journal", "repair", "--data-dir", str(tmp_path))
    assert "store (sqlite) at sequence 15, PAST the new end of the journal (7)" in dry.output
    _store_at(tmp_path, 5)
    dry = _stx("journal", "repair", "--data-dir", str(tmp_path))
    assert "store (sqlite) at sequence 5: it catches up from the journal" in dry.output
