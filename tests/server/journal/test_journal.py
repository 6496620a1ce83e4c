"""Recovery on real files: torn tails are cut, other damage stops start-up."""

import logging
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.journal import (
    Durability,
    JournalCorruptError,
    JournalWriter,
    Problem,
    encode_record,
    recover,
    write_snapshot,
)
from server.journal.format import HEADER, HEADER_SIZE, PREFIX_SIZE


def _write(directory: Path, payloads: list[bytes], roll_every: int = 0) -> None:
    writer = JournalWriter(directory, durability=Durability.NONE)
    for sequence, payload in enumerate(payloads, start=1):
        writer.append(sequence, payload)
        if roll_every and sequence % roll_every == 0:
            writer.roll()
    writer.close_sync()


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("journal-*.log"))


def _numbered(payloads: list[bytes]) -> list[tuple[int, bytes]]:
    return list(enumerate(payloads, start=1))


def test_torn_tail_is_cut_at_every_offset_and_appending_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    payloads = [b"one", b"two", b"three", b"the last record, torn"]
    _write(tmp_path, payloads, roll_every=3)
    path = _segments(tmp_path)[-1]
    whole = path.read_bytes()
    last_start = len(whole) - (PREFIX_SIZE + len(payloads[-1]))
    for cut in range(last_start, len(whole)):
        for kept in tmp_path.glob("*.cut-*"):
            kept.unlink()
        path.write_bytes(whole[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="server.journal"):
            recovery = recover(tmp_path)
        assert recovery.records == _numbered(payloads[:3])
        assert recovery.last_sequence == 3
        assert path.stat().st_size == last_start
        if cut == last_start:
            assert recovery.truncation is None
            assert not caplog.records
            continue
        truncation = recovery.truncation
        assert truncation is not None
        assert truncation.bytes_cut == cut - last_start
        assert truncation.damage.offset == last_start
        assert truncation.damage.problem in {Problem.TORN_LENGTH, Problem.TORN_PAYLOAD}
        assert truncation.kept_as.read_bytes() == whole[last_start:cut]
        assert [record.levelname for record in caplog.records] == ["WARNING"]
        assert f"cut {cut - last_start} bytes" in caplog.text
    writer = recover(tmp_path).open_writer(durability=Durability.NONE)
    writer.append(4, b"again")
    writer.append(5, b"and more")
    writer.close_sync()
    recovery = recover(tmp_path)
    assert recovery.records == [*_numbered(payloads[:3]), (4, b"again"), (5, b"and more")]
    assert recovery.truncation is None


def test_flipped_byte_in_the_last_record_is_a_crc_mismatch_and_cut(tmp_path: Path) -> None:
    _write(tmp_path, [b"keep", b"damaged"])
    path = _segments(tmp_path)[-1]
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    recovery = recover(tmp_path)
    assert recovery.records == [(1, b"keep")]
    assert recovery.truncation is not None
    assert recovery.truncation.damage.problem is Problem.CRC_MISMATCH
    assert recovery.truncated is not None
    assert "CRC mismatch" in recovery.truncated
    assert path.stat().st_size == len(data) - PREFIX_SIZE - len(b"damaged")


def test_damage_before_intact_records_stops_recovery_and_cuts_nothing(tmp_path: Path) -> None:
    # A power loss can persist later pages and lose an earlier one; the
    # records after the damage were acknowledged, so it is not a torn tail.
    _write(tmp_path, [b"one", b"two", b"three", b"four"])
    path = _segments(tmp_path)[-1]
    data = bytearray(path.read_bytes())
    offset = HEADER_SIZE + PREFIX_SIZE + 3
    data[offset + PREFIX_SIZE] ^= 0x01  # payload of record 2
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError) as raised:
        recover(tmp_path)
    message = str(raised.value)
    assert f"{path}, offset {offset}: CRC mismatch" in message
    assert "2 intact records follow it (sequences 3..4" in message
    assert "would lose records 2..4" in message
    assert f"stx journal repair --data-dir {tmp_path}" in message
    assert "--accept-loss" in message
    assert path.read_bytes() == bytes(data)
    assert not list(tmp_path.glob("*.cut-*"))


def test_corruption_in_an_earlier_segment_stops_recovery(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two", b"three"], roll_every=2)
    first = _segments(tmp_path)[0]
    data = bytearray(first.read_bytes())
    data[HEADER_SIZE + PREFIX_SIZE] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError, match=rf"{first.name}, offset {HEADER_SIZE}: CRC"):
        recover(tmp_path)
    assert first.read_bytes() == bytes(data)  # nothing was cut


def test_torn_earlier_segment_stops_recovery(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two", b"three"], roll_every=2)
    first = _segments(tmp_path)[0]
    first.write_bytes(first.read_bytes()[:-1])
    with pytest.raises(JournalCorruptError, match="torn record payload"):
        recover(tmp_path)


def test_a_valid_record_with_the_wrong_sequence_is_not_a_tear(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two"])
    path = _segments(tmp_path)[-1]
    with path.open("ab") as file:
        file.write(encode_record(7, b"from elsewhere"))
    with pytest.raises(JournalCorruptError, match="sequence 7 where 3 was due"):
        recover(tmp_path)


def test_a_foreign_last_segment_is_not_cut(tmp_path: Path) -> None:
    _write(tmp_path, [b"one"], roll_every=1)
    path = _segments(tmp_path)[-1]
    path.write_bytes(b"STXJ\x09\x00" + encode_record(2, b"a future format"))
    with pytest.raises(JournalCorruptError, match="not a journal segment"):
        recover(tmp_path)


@pytest.mark.parametrize("leftover", [b"", b"ST", b"\x00" * HEADER_SIZE])
def test_a_segment_created_just_before_a_crash_is_reused(tmp_path: Path, leftover: bytes) -> None:
    _write(tmp_path, [b"one", b"two"], roll_every=2)
    path = _segments(tmp_path)[-1]
    path.write_bytes(leftover)
    recovery = recover(tmp_path)
    assert recovery.records == [(1, b"one"), (2, b"two")]
    assert (recovery.truncation is None) == (leftover == b"")
    assert path.stat().st_size == 0
    writer = recovery.open_writer(durability=Durability.NONE)
    writer.append(3, b"three")
    writer.close_sync()
    assert path.read_bytes() == HEADER + encode_record(3, b"three")
    assert recover(tmp_path).last_sequence == 3


def test_a_missing_segment_is_a_gap(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two", b"three"], roll_every=1)
    _segments(tmp_path)[1].unlink()
    with pytest.raises(JournalCorruptError, match=r"starts at sequence 3, but .* ends at 1"):
        recover(tmp_path)


def test_records_missing_between_the_snapshot_and_the_journal(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two", b"three", b"four"], roll_every=2)
    write_snapshot(tmp_path, 1, "hash", {})
    _segments(tmp_path)[0].unlink()  # held 1..2; the snapshot covers only 1
    with pytest.raises(JournalCorruptError, match=r"records 2\.\.2 are missing"):
        recover(tmp_path)


def test_a_journal_that_ends_before_the_snapshot(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two"])
    write_snapshot(tmp_path, 5, "hash", {})
    with pytest.raises(JournalCorruptError, match=r"ends at 2 .* before the snapshot at 5"):
        recover(tmp_path)


def test_records_after_the_snapshot_are_replayed(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, durability=Durability.NONE)
    for sequence in range(1, 4):
        writer.append(sequence, b"%d" % sequence)
    writer.roll()
    write_snapshot(tmp_path, 3, "state-3", {"engine": {"now": 3}})
    for sequence in range(4, 7):
        writer.append(sequence, b"%d" % sequence)
    writer.close_sync()
    recovery = recover(tmp_path)
    assert recovery.snapshot is not None
    assert recovery.snapshot["state_hash"] == "state-3"
    assert recovery.snapshot["data"] == {"engine": {"now": 3}}
    assert recovery.snapshot_sequence == 3
    assert recovery.records == [(4, b"4"), (5, b"5"), (6, b"6")]
    assert recovery.last_sequence == 6


def test_an_empty_directory_recovers_to_nothing(tmp_path: Path) -> None:
    recovery = recover(tmp_path / "new")
    assert (recovery.snapshot, recovery.records, recovery.last_sequence) == (None, [], 0)
    writer = recovery.open_writer(durability=Durability.NONE)
    assert writer.next_sequence == 1
    writer.close_sync()


@settings(max_examples=120, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=60), min_size=1, max_size=25),
    roll_every=st.integers(min_value=0, max_value=10),
    cut_fraction=st.floats(min_value=0, max_value=1),
    garbage=st.binary(max_size=40),
)
def test_any_damaged_tail_yields_a_clean_prefix(
    payloads: list[bytes], roll_every: int, cut_fraction: float, garbage: bytes
) -> None:
    """Cut the last segment anywhere and leave junk after the cut (what a crash
    leaves): recovery returns a prefix of what was written, exactly, and the
    writer carries on from there."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        _write(directory, payloads, roll_every)
        path = _segments(directory)[-1]
        data = path.read_bytes()
        cut = max(HEADER_SIZE, int(len(data) * cut_fraction))
        path.write_bytes(data[:cut] + garbage)
        recovery = recover(directory)
        written = _numbered(payloads)
        assert recovery.records == written[: len(recovery.records)]
        assert recovery.last_sequence == len(recovery.records)
        # Junk can complete a torn record only by repeating its bytes exactly.
        assert len(recovery.records) >= _surviving(data[:cut], path)
        if not garbage:
            assert len(recovery.records) == _surviving(data[:cut], path)
        writer = recovery.open_writer(durability=Durability.NONE)
        writer.append(recovery.last_sequence + 1, b"next")
        writer.close_sync()
        again = recover(directory)
        assert again.records == [*recovery.records, (recovery.last_sequence + 1, b"next")]
        assert again.truncation is None


def _surviving(data: bytes, path: Path) -> int:
    """How many records survive when the last segment is cut to ``data``: those
    of the segments before, and every whole one left in it."""
    first = int(path.stem.split("-")[1])
    records, offset = 0, HEADER_SIZE
    while len(data) - offset >= PREFIX_SIZE:
        length = int.from_bytes(data[offset : offset + 4], "little")
        if offset + PREFIX_SIZE + length > len(data):
            break
        records, offset = records + 1, offset + PREFIX_SIZE + length
    return first - 1 + records
