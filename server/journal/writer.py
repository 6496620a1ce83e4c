"""Appending to the journal, with the chosen durability.

``append`` only adds to a buffer (it runs on the sequencer's hot path);
``commit`` writes the buffer with one ``os.write`` and then, for ``ALWAYS``,
waits for an fsync. Commits that arrive while an fsync runs share the next
one (group commit), and the fsync runs in a worker thread so the event loop
keeps taking commands meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from server.journal.format import HEADER, encode_record


class Durability(Enum):
    ALWAYS = "always"
    """Acknowledge after fsync: nothing acknowledged is lost, even on power loss."""
    BATCH = "batch"
    """Acknowledge once the OS has the bytes (they survive a process crash);
    fsync every ``fsync_interval`` seconds."""
    NONE = "none"
    """Acknowledge once the OS has the bytes; fsync only at close."""


def segment_name(first_sequence: int) -> str:
    return f"journal-{first_sequence:020d}.log"


class JournalWriter:
    def __init__(
        self,
        directory: Path,
        next_sequence: int = 1,
        durability: Durability = Durability.BATCH,
        fsync_interval: float = 0.005,
        fsync: Callable[[int], None] = os.fsync,
    ) -> None:
        self.directory = directory
        self.durability = durability
        self.fsync_interval = fsync_interval
        self._fsync = fsync
        self._next = next_sequence
        self._buffer = bytearray()
        self._fd = -1
        self._dirty = False
        self._syncing: asyncio.Future[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.records = 0
        self.bytes_written = 0
        self.fsyncs = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._open_segment(next_sequence)

    @property
    def next_sequence(self) -> int:
        return self._next

    def _open_segment(self, first_sequence: int) -> None:
        """Append to the segment that holds ``first_sequence`` onwards: the
        newest existing one, or a new one."""
        segments = sorted(self.directory.glob("journal-*.log"))
        if segments and int(segments[-1].stem.split("-")[1]) <= first_sequence:
            path = segments[-1]
        else:
            path = self.directory / segment_name(first_sequence)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size == 0:
            self._write(HEADER)
            self._sync_now()
            sync_directory(self.directory)

    def append(self, sequence: int, payload: bytes) -> None:
        if sequence != self._next:
            raise ValueError(f"journal expects sequence {self._next}, got {sequence}")
        self._buffer += encode_record(sequence, payload)
        self._next = sequence + 1
        self.records += 1

    def flush(self) -> None:
        """Hand buffered records to the OS."""
        if self._buffer:
            self._write(bytes(self._buffer))
            self._buffer.clear()
            self._dirty = True

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self.bytes_written += written

    def _sync_now(self) -> None:
        self._fsync(self._fd)
        self.fsyncs += 1

    async def commit(self) -> None:
        """Return once every record appended before the call is durable as the
        policy defines."""
        self.flush()
        if self.durability is Durability.ALWAYS and self._dirty:
            await self._group_sync()

    async def _group_sync(self) -> None:
        while self._syncing is not None:
            # An fsync is running; it may have started before our write, so
            # wait for it and then make sure one more covers us.
            await asyncio.shield(self._syncing)
        if not self._dirty:
            return
        loop = asyncio.get_running_loop()
        self._syncing = loop.create_future()
        self._dirty = False
        try:
            await asyncio.to_thread(self._sync_now)
            self._syncing.set_result(None)
        except BaseException as error:
            self._dirty = True
            self._syncing.set_exception(error)
            raise
        finally:
            self._syncing = None

    async def start(self) -> None:
        """Start the periodic fsync of ``BATCH``."""
        if self.durability is Durability.BATCH and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.fsync_interval)
            if self._dirty:
                self._dirty = False
                await asyncio.to_thread(self._sync_now)

    def roll(self) -> None:
        """Start a new segment at the next sequence (right after a snapshot),
        so older segments can be pruned whole."""
        self.flush()
        self._sync_now()
        os.close(self._fd)
        self._dirty = False
        path = self.directory / segment_name(self._next)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._write(HEADER)
        self._sync_now()
        sync_directory(self.directory)

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self.close_sync()

    def close_sync(self) -> None:
        if self._fd < 0:
            return
        self.flush()
        self._sync_now()
        os.close(self._fd)
        self._fd = -1


def sync_directory(directory: Path) -> None:
    """Make a new or renamed file's directory entry durable too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
