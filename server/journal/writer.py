"""Appending to the journal, with the chosen durability.

``append`` only frames the record into a buffer: it runs on the sequencer's
hot path, inside the synchronous section that makes sequencing single-
threaded, so it must not touch the disk. ``commit`` hands the whole buffer to
the OS with one ``os.write`` and then, for ``ALWAYS``, waits for an fsync.
fsyncs run on a dedicated thread so the event loop keeps taking commands
meanwhile, and commits that arrive while one runs share the next one (group
commit): under load, one fsync covers many batches.

fsyncs always work on a duplicate of the file descriptor, so rolling to a new
segment or closing while an fsync is in flight can neither fail that fsync
nor point it at another file. A failed write or fsync is final: after it the
kernel may have dropped the dirty pages, so a retried fsync could "succeed"
without the data; the writer refuses everything from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path

from server.journal.files import append_position, segment_name, sync_directory
from server.journal.format import HEADER, MAX_PAYLOAD, append_record

_log = logging.getLogger(__name__)


class Durability(Enum):
    ALWAYS = "always"
    """Acknowledge after fsync: nothing acknowledged is lost, even on power loss."""
    BATCH = "batch"
    """Acknowledge once the OS has the bytes (they survive a process crash);
    fsync every ``fsync_interval`` seconds, so a power loss costs at most that."""
    NONE = "none"
    """Acknowledge once the OS has the bytes; fsync only at roll and close."""


class JournalFailedError(RuntimeError):
    """A write or fsync failed earlier; nothing more can be made durable."""


class JournalWriter:
    """Appends records to the newest segment of ``directory``.

    ``next_sequence`` is the sequence of the first record to append. If the
    directory already has segments, the newest must end exactly before it
    (as ``recover`` leaves it); anything else raises ``ValueError`` rather
    than write a journal that a later recovery would have to cut.
    ``fsync`` is injectable so tests can count or delay fsyncs.
    """

    def __init__(
        self,
        directory: Path,
        next_sequence: int = 1,
        durability: Durability = Durability.BATCH,
        fsync_interval: float = 0.005,
        fsync: Callable[[int], None] = os.fsync,
    ) -> None:
        if next_sequence < 1:
            raise ValueError(f"sequences start at 1, not {next_sequence}")
        self.directory = directory
        self.durability = durability
        self.fsync_interval = fsync_interval
        self._fsync = fsync
        self._next = next_sequence
        self._buffer = bytearray()
        self._fd = -1
        self._segment_first = next_sequence
        self.records = 0
        """Records appended by this writer."""
        self.bytes_written = 0
        """Bytes handed to the OS by this writer (headers included)."""
        self.writes = 0
        """``os.write`` calls for record batches (one per non-empty flush)."""
        self.fsyncs = 0
        """Completed fsyncs of segment files."""
        self._synced_mark = 0
        """``bytes_written`` as of the start of the last completed fsync."""
        self._syncing: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._failure: BaseException | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self._open_position()

    @property
    def next_sequence(self) -> int:
        return self._next

    @property
    def segment(self) -> Path:
        """The segment being appended to."""
        return self.directory / segment_name(self._segment_first)

    # -- opening ---------------------------------------------------------

    def _open_position(self) -> None:
        position = append_position(self.directory, self._next)
        if position is None:
            self._create_segment(self._next)
            return
        self._segment_first, path, empty = position
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        if empty:
            self._write_header()

    def _create_segment(self, first: int) -> None:
        # O_EXCL: a segment is never created twice, since a second header in
        # the middle of a file would make recovery cut everything after it.
        path = self.directory / segment_name(first)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        self._segment_first = first
        self._write_header()

    def _write_header(self) -> None:
        """Write the header and make it and the file's name durable before any
        record follows, so a segment with records always has a good header."""
        self._write(HEADER)
        self._sync_now()
        sync_directory(self.directory)

    # -- the hot path ----------------------------------------------------

    def append(self, sequence: int, payload: bytes) -> None:
        """Buffer one record. Wrong sequences and oversized payloads are the
        caller's bugs and raise ``ValueError`` (an oversized record would be
        read back as damage)."""
        if sequence != self._next:
            raise ValueError(f"journal expects sequence {self._next}, got {sequence}")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
        if self._failure is not None:
            self._refuse_if_failed()
        append_record(self._buffer, sequence, payload)
        self._next = sequence + 1
        self.records += 1

    def flush(self) -> None:
        """Hand every buffered record to the OS in one write (no fsync)."""
        if not self._buffer:
            return
        self._refuse_if_failed()
        if self._fd < 0:
            raise JournalFailedError("the journal writer is closed")
        data, self._buffer = self._buffer, bytearray()
        self._write(data)
        self.writes += 1
        if self._wake is not None:
            self._wake.set()

    def _refuse_if_failed(self) -> None:
        if self._failure is not None:
            raise JournalFailedError("the journal failed earlier") from self._failure

    def _write(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                self.bytes_written += written
        except OSError as error:
            # Part of the batch may be in the file: nothing can follow it.
            self._failure = error
            raise

    def commit_written(self) -> bool:
        """Commit here and now if the policy acknowledges once the OS has the
        bytes (``batch``, ``none``); False under ``always``, which must wait
        for an fsync through ``commit``."""
        if self.durability is Durability.ALWAYS:
            return False
        self._refuse_if_failed()
        self.flush()
        return True

    async def commit(self) -> None:
        """Return once every record appended before the call is durable as the
        policy defines: written to the OS, and for ``ALWAYS`` also fsynced."""
        self._refuse_if_failed()
        self.flush()
        if self.durability is not Durability.ALWAYS:
            return
        target = self.bytes_written
        while self._synced_mark < target:
            self._refuse_if_failed()
            if self._syncing is None:
                # No fsync runs: start one; it covers every byte written so far.
                self._start_sync()
            assert self._syncing is not None
            # Otherwise one runs that may have started before our write; wait
            # for it, and the loop starts (or joins) the next one if needed.
            await asyncio.shield(self._syncing)

    # -- fsync -----------------------------------------------------------

    def _start_sync(self) -> None:
        """Start an fsync on the fsync thread covering every byte written so far."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="journal-fsync")
        fd = os.dup(self._fd)
        self._syncing = asyncio.ensure_future(
            self._sync_off_loop(fd, self.bytes_written, self._executor)
        )

    async def _sync_off_loop(self, fd: int, mark: int, executor: ThreadPoolExecutor) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._sync_fd, fd)
        except BaseException as error:
            if not isinstance(error, asyncio.CancelledError):
                self._failure = error
            raise
        finally:
            self._syncing = None
        self._synced(mark)

    def _sync_fd(self, fd: int) -> None:
        try:
            self._fsync(fd)
        finally:
            os.close(fd)

    def _sync_now(self) -> None:
        """fsync on the calling thread (opening, rolling, closing)."""
        mark = self.bytes_written
        try:
            self._fsync(self._fd)
        except OSError as error:
            self._failure = error
            raise
        self._synced(mark)

    def _synced(self, mark: int) -> None:
        self.fsyncs += 1
        self._synced_mark = max(self._synced_mark, mark)

    async def start(self) -> None:
        """Start the periodic fsync of ``BATCH`` (other policies need none)."""
        if self.durability is Durability.BATCH and self._ticker is None:
            self._wake = asyncio.Event()
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """fsync ``fsync_interval`` after the first write since the last fsync:
        continuous writing gets an fsync per interval, an idle journal none."""
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.fsync_interval)
            if self._synced_mark >= self.bytes_written or self._fd < 0:
                continue
            try:
                if self._syncing is None:
                    self._start_sync()
                assert self._syncing is not None
                await asyncio.shield(self._syncing)
            except Exception as error:
                self._failure = self._failure or error
                _log.critical("journal fsync failed; no further commit will succeed", exc_info=True)
                return

    # -- segments and shutdown -------------------------------------------

    def roll(self, next_sequence: int | None = None) -> None:
        """Finish the current segment (flushed and fsynced) and start a new one
        at the next sequence, so segments line up with snapshots and older
        ones can be pruned whole. Called between commands, right before a
        snapshot of the state after the last appended record; it blocks for
        one fsync. Rolling a segment that holds no record yet does nothing
        more than that fsync."""
        if next_sequence is not None and next_sequence != self._next:
            raise ValueError(f"cannot roll at {next_sequence}: the next record is {self._next}")
        self._refuse_if_failed()
        self.flush()
        if self._fd < 0:
            raise JournalFailedError("the journal writer is closed")
        if self._synced_mark < self.bytes_written:
            self._sync_now()
        if self._segment_first == self._next:
            return
        os.close(self._fd)
        self._fd = -1
        try:
            self._create_segment(self._next)
        except OSError as error:
            self._failure = error
            raise

    async def close(self) -> None:
        """Stop the periodic fsync, flush, fsync and close."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._syncing is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._syncing)
        self.close_sync()

    def close_sync(self) -> None:
        """``close`` for callers without an event loop (tools, tests). Raises
        ``JournalFailedError`` if appended records may not be durable."""
        if self._fd < 0:
            return
        try:
            if self._failure is None:
                self.flush()
                if self._synced_mark < self.bytes_written:
                    self._sync_now()
        finally:
            os.close(self._fd)
            self._fd = -1
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
        if self._failure is not None:
            raise JournalFailedError("the journal failed; records may be lost") from self._failure
