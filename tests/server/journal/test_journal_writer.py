"""The writer on real files: sequencing, durability policies, group commit, rolls."""

import asyncio
import errno
import logging
import os
import threading
from pathlib import Path

import pytest

from server.journal import (
    Durability,
    JournalFailedError,
    JournalWriter,
    encode_record,
    recover,
    scan,
)
from server.journal.format import HEADER, HEADER_SIZE, MAX_PAYLOAD, PREFIX_SIZE


class FakeFsync:
    """A real fsync that tests can hold back (off the event loop's thread
    only, so rolls and closes on the loop are not held), fail, and inspect."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.started: list[int] = []
        """File size seen by each fsync as it started."""
        self.completed: list[int] = []
        self.delay = 0.0
        self.error: OSError | None = None

    def __call__(self, fd: int) -> None:
        self.started.append(os.fstat(fd).st_size)
        if threading.current_thread() is not threading.main_thread():
            assert self.gate.wait(10)
            if self.delay:
                threading.Event().wait(self.delay)
        if self.error is not None:
            raise self.error
        os.fsync(fd)
        self.completed.append(self.started[-1])


def _records(directory: Path) -> list[tuple[int, bytes]]:
    return recover(directory).records


def test_many_records_round_trip_across_rolls(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, durability=Durability.NONE)
    written = [(sequence, os.urandom(sequence % 300)) for sequence in range(1, 5_001)]
    for sequence, payload in written:
        writer.append(sequence, payload)
        if sequence % 1_000 == 0:
            writer.roll(sequence + 1)
        elif sequence % 97 == 0:
            writer.flush()
    writer.close_sync()
    names = sorted(path.name for path in tmp_path.glob("journal-*.log"))
    assert names == [f"journal-{first:020d}.log" for first in (1, 1001, 2001, 3001, 4001, 5001)]
    recovery = recover(tmp_path)
    assert recovery.records == written
    assert recovery.last_sequence == 5_000
    assert recovery.truncation is None
    assert writer.records == 5_000


def test_sequence_must_follow_on_and_payloads_fit(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, next_sequence=10, durability=Durability.NONE)
    with pytest.raises(ValueError, match="expects sequence 10, got 11"):
        writer.append(11, b"x")
    writer.append(10, b"x")
    with pytest.raises(ValueError, match="expects sequence 11, got 10"):
        writer.append(10, b"x")
    with pytest.raises(ValueError, match="exceeds"):
        writer.append(11, bytes(MAX_PAYLOAD + 1))
    writer.append(11, b"y")
    writer.close_sync()
    assert scan((tmp_path / "journal-00000000000000000010.log").read_bytes(), 10).records == [
        (10, b"x"),
        (11, b"y"),
    ]


def test_a_commit_is_one_write_for_the_whole_batch(tmp_path: Path) -> None:
    async def scenario() -> JournalWriter:
        writer = JournalWriter(tmp_path, durability=Durability.BATCH)
        for sequence in range(1, 101):
            writer.append(sequence, b"p" * 100)
        assert writer.bytes_written == HEADER_SIZE  # append never touches the file
        await writer.commit()
        await writer.commit()  # nothing new: no write
        await writer.close()
        return writer

    writer = asyncio.run(scenario())
    assert writer.writes == 1
    assert writer.bytes_written == HEADER_SIZE + 100 * (PREFIX_SIZE + 100)


def test_commit_written_commits_on_the_spot_unless_an_fsync_is_owed(tmp_path: Path) -> None:
    async def scenario() -> None:
        for durability, on_the_spot in (
            (Durability.BATCH, True),
            (Durability.NONE, True),
            (Durability.ALWAYS, False),
        ):
            writer = JournalWriter(tmp_path / durability.value, durability=durability)
            writer.append(1, b"payload")
            assert writer.commit_written() is on_the_spot
            written = HEADER_SIZE + PREFIX_SIZE + len(b"payload")
            assert writer.bytes_written == (written if on_the_spot else HEADER_SIZE)
            await writer.close()
            assert _records(tmp_path / durability.value) == [(1, b"payload")]

    asyncio.run(scenario())


def test_always_acknowledges_only_after_an_fsync(tmp_path: Path) -> None:
    fsync = FakeFsync()

    async def scenario() -> None:
        writer = JournalWriter(tmp_path, durability=Durability.ALWAYS, fsync=fsync)
        before = writer.fsyncs
        fsync.gate.clear()
        writer.append(1, b"order")
        commit = asyncio.ensure_future(writer.commit())
        await asyncio.sleep(0.05)
        assert not commit.done(), "acknowledged before the fsync finished"
        assert writer.fsyncs == before
        fsync.gate.set()
        await commit
        assert writer.fsyncs == before + 1
        assert fsync.completed[-1] == (tmp_path / "journal-00000000000000000001.log").stat().st_size
        await writer.commit()  # nothing new: no fsync
        assert writer.fsyncs == before + 1
        await writer.close()

    asyncio.run(scenario())


def test_group_commit_shares_fsyncs_and_covers_every_caller(tmp_path: Path) -> None:
    fsync = FakeFsync()
    fsync.delay = 0.01
    payload = b"x" * 50
    size = PREFIX_SIZE + len(payload)
    commits = 200

    async def one(sequence: int, writer: JournalWriter) -> None:
        await writer.commit()
        # Some completed fsync started after this caller's record was written.
        assert max(fsync.completed) >= HEADER_SIZE + sequence * size

    async def scenario() -> int:
        writer = JournalWriter(tmp_path, durability=Durability.ALWAYS, fsync=fsync)
        before = writer.fsyncs
        tasks = []
        for sequence in range(1, commits + 1):
            writer.append(sequence, payload)
            tasks.append(asyncio.ensure_future(one(sequence, writer)))
            await asyncio.sleep(0 if sequence % 10 else 0.001)  # faster than fsyncs
        await asyncio.gather(*tasks)
        used = writer.fsyncs - before
        await writer.close()
        return used

    used = asyncio.run(scenario())
    assert 2 <= used <= commits // 10
    assert _records(tmp_path) == [(sequence, payload) for sequence in range(1, commits + 1)]


def test_batch_acknowledges_at_once_and_fsyncs_in_the_background(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = JournalWriter(tmp_path, durability=Durability.BATCH, fsync_interval=0.002)
        await writer.start()
        before = writer.fsyncs
        writer.append(1, b"x")
        await writer.commit()
        assert writer.fsyncs == before  # acknowledged with the bytes at the OS
        assert scan(writer.segment.read_bytes(), 1).records == [(1, b"x")]
        for _ in range(400):
            if writer.fsyncs > before:
                break
            await asyncio.sleep(0.005)
        assert writer.fsyncs == before + 1
        await asyncio.sleep(0.03)
        assert writer.fsyncs == before + 1  # idle: no fsync without new bytes
        writer.append(2, b"y")
        await writer.commit()
        await writer.close()
        assert writer.fsyncs == before + 2  # the close covers the last write

    asyncio.run(scenario())
    assert _records(tmp_path) == [(1, b"x"), (2, b"y")]


def test_none_fsyncs_only_at_close(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = JournalWriter(tmp_path, durability=Durability.NONE, fsync_interval=0.001)
        await writer.start()
        before = writer.fsyncs
        for sequence in range(1, 11):
            writer.append(sequence, b"z")
            await writer.commit()
            await asyncio.sleep(0.002)
        assert writer.fsyncs == before
        await writer.close()
        assert writer.fsyncs == before + 1

    asyncio.run(scenario())
    assert len(_records(tmp_path)) == 10


def test_a_failed_fsync_is_final(tmp_path: Path) -> None:
    fsync = FakeFsync()

    async def scenario() -> JournalWriter:
        writer = JournalWriter(tmp_path, durability=Durability.ALWAYS, fsync=fsync)
        fsync.error = OSError(errno.EIO, "disk on fire")
        writer.append(1, b"x")
        with pytest.raises(OSError, match="disk on fire"):
            await writer.commit()
        fsync.error = None  # a retry could "succeed" without the data: refused
        with pytest.raises(JournalFailedError):
            writer.append(2, b"y")
        with pytest.raises(JournalFailedError):
            await writer.commit()
        return writer

    writer = asyncio.run(scenario())
    with pytest.raises(JournalFailedError):
        writer.close_sync()
    writer.close_sync()  # already closed: nothing more to say


def test_roll_and_close_while_an_fsync_is_in_flight(tmp_path: Path) -> None:
    fsync = FakeFsync()

    async def scenario() -> None:
        writer = JournalWriter(tmp_path, durability=Durability.ALWAYS, fsync=fsync)
        writer.append(1, b"a")
        fsync.gate.clear()
        commit = asyncio.ensure_future(writer.commit())
        await asyncio.sleep(0.01)  # the fsync thread now holds a descriptor
        writer.roll(2)  # closes the segment's own descriptor meanwhile
        writer.append(2, b"b")
        second = asyncio.ensure_future(writer.commit())
        await asyncio.sleep(0.01)
        fsync.gate.set()
        await asyncio.gather(commit, second)
        await writer.close()

    asyncio.run(scenario())
    assert _records(tmp_path) == [(1, b"a"), (2, b"b")]


def test_roll_of_an_empty_segment_keeps_it(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, durability=Durability.NONE)
    writer.append(1, b"a")
    writer.roll()
    writer.roll()  # e.g. a shutdown snapshot right after a periodic one
    writer.roll(2)
    with pytest.raises(ValueError, match="cannot roll at 5"):
        writer.roll(5)
    writer.append(2, b"b")
    writer.close_sync()
    second = tmp_path / "journal-00000000000000000002.log"
    assert second.read_bytes() == HEADER + encode_record(2, b"b")
    assert len(list(tmp_path.glob("journal-*.log"))) == 2


def test_reopening_appends_to_the_last_segment(tmp_path: Path) -> None:
    first = JournalWriter(tmp_path, durability=Durability.NONE)
    first.append(1, b"a")
    first.close_sync()
    again = JournalWriter(tmp_path, next_sequence=2, durability=Durability.NONE)
    again.append(2, b"b")
    again.close_sync()
    assert len(list(tmp_path.glob("journal-*.log"))) == 1
    assert _records(tmp_path) == [(1, b"a"), (2, b"b")]


def test_a_writer_never_opens_where_it_would_break_the_journal(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, durability=Durability.NONE)
    writer.append(1, b"a")
    writer.append(2, b"b")
    writer.close_sync()
    for wrong in (1, 2, 4):
        with pytest.raises(ValueError, match="ends at 2"):
            JournalWriter(tmp_path, next_sequence=wrong)
    segment = tmp_path / "journal-00000000000000000001.log"
    with segment.open("ab") as file:
        file.write(b"\x05\x00")
    with pytest.raises(ValueError, match="run recover"):
        JournalWriter(tmp_path, next_sequence=3)
    with pytest.raises(ValueError, match="sequences start at 1"):
        JournalWriter(tmp_path / "other", next_sequence=0)


def test_a_failed_background_fsync_fails_what_follows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fsync = FakeFsync()

    async def scenario() -> None:
        writer = JournalWriter(
            tmp_path, durability=Durability.BATCH, fsync_interval=0.001, fsync=fsync
        )
        await writer.start()
        fsync.error = OSError(errno.EIO, "gone")
        writer.append(1, b"x")
        await writer.commit()  # acknowledged: the OS has the bytes
        for _ in range(400):
            if "journal fsync failed" in caplog.text:
                break
            await asyncio.sleep(0.005)
        with pytest.raises(JournalFailedError):
            await writer.commit()
        with pytest.raises(JournalFailedError):
            writer.roll()
        with pytest.raises(JournalFailedError):
            await writer.close()

    with caplog.at_level(logging.CRITICAL):
        asyncio.run(scenario())
    assert "journal fsync failed" in caplog.text
