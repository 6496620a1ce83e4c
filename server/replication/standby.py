"""The standby's end of replication: ``Standby`` follows a primary over TCP.

It keeps its own data directory the way the core does: recovery at start
(``recover`` and ``State.restore``, the core's own code), its own journal
written by the same ``JournalWriter`` with the same durability, its own
snapshots. Each BATCH from the primary is appended to the journal and
applied to the engine; once the journal has committed it (fsynced under
``always``) the standby sends an ACK with its durable sequence, one per
commit however many batches it covers (group commit, as the sequencer's).

A HASH from the primary names a sequence and the engine's state hash there;
the standby compares its own on reaching that sequence. A mismatch, a gap, or
a journal that is not the primary's is ``ReplicationDivergedError``: the
standby stops, loudly, and never carries on with a state the primary does not
have. A lost connection is not an error: it reconnects (with backoff) and
resumes from its durable sequence, so a primary restart costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from matching.snapshot import take_snapshot
from matching.state import digest
from server.journal import (
    Durability,
    JournalFailedError,
    JournalWriter,
    prune,
    recover,
    write_snapshot,
)
from server.link.frames import FrameError, Kind, Reader, control, read_control, read_run
from server.model.state import State
from server.runtime import in_forked_child

_log = logging.getLogger(__name__)

RETRY_FIRST = 0.05
RETRY_MAX = 1.0


class ReplicationDivergedError(RuntimeError):
    """The standby's state or journal is not the primary's: it must stop."""


class Standby:
    def __init__(
        self,
        directory: Path,
        primary: tuple[str, int],
        *,
        name: str = "standby",
        durability: Durability = Durability.BATCH,
        fsync_interval: float = 0.005,
        snapshot_every: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
        fsync: Callable[[int], None] = os.fsync,
    ) -> None:
        self.directory = directory
        self.primary = primary
        self.name = name
        recovery = recover(directory)
        self.state = State.restore(recovery.snapshot)
        self.state.replay(recovery.records)
        self.state.check_market()
        self.writer = JournalWriter(
            directory,
            next_sequence=recovery.last_sequence + 1,
            durability=durability,
            fsync_interval=fsync_interval,
            fsync=fsync,
        )
        self.snapshot_every = snapshot_every
        self.durable = recovery.last_sequence
        """The last sequence this standby's journal has committed (and acknowledged)."""
        self.term = 0
        """The primary's term, from its WELCOME (0 before the first)."""
        self.primary_head = recovery.last_sequence
        """The highest sequence the primary is known to have committed."""
        self.behind_since: float | None = None
        """When this standby last fell behind the primary's head, None while level."""
        self.hashes_checked = 0
        self.connections = 0
        self.connected = asyncio.Event()
        self._clock = clock
        self._expected: deque[tuple[int, str]] = deque()
        """HASH frames not reached yet: (sequence, the primary's hash there)."""
        self._since_snapshot = 0
        self._snapshotter: asyncio.Task[None] | None = None
        self.snapshots = 0
        """Snapshots written in the background while following."""
        self._committer: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._failure: BaseException | None = None
        """What stopped the journal: nothing more is acknowledged, the standby stops."""

    @property
    def sequence(self) -> int:
        return self.state.sequence

    def lag(self) -> tuple[int, float]:
        """Records the primary has that this standby has not made durable, and
        for how many seconds it has been behind."""
        behind = max(self.primary_head - self.durable, 0)
        if not behind or self.behind_since is None:
            return behind, 0.0
        return behind, self._clock() - self.behind_since

    async def start(self) -> None:
        await self.writer.start()
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def task(self) -> asyncio.Task[None]:
        """Ends only with ``ReplicationDivergedError`` (or a journal failure)."""
        assert self._task is not None
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ReplicationDivergedError):
                await self._task
            self._task = None
        if self._committer is not None:
            with contextlib.suppress(Exception):
                await self._committer
        if self._snapshotter is not None:
            await self._snapshotter
        with contextlib.suppress(JournalFailedError):
            await self.writer.close()

    def snapshot(self) -> None:
        """A snapshot at the applied sequence, with the journal rolled there
        (as the core's), here and now: at a stop. While following,
        ``_snapshot_forked`` does it in a child process."""
        self.writer.roll()
        self._write_snapshot(self.sequence)
        prune(self.directory)  # what its own recovery no longer needs, as the core does
        self._since_snapshot = 0

    def _write_snapshot(self, sequence: int) -> None:
        engine_state = take_snapshot(self.state.engine)
        data = {
            "engine": engine_state,
            "orders": self.state.registry.snapshot(),
            "market": self.state.market.snapshot(),
        }
        write_snapshot(self.directory, sequence, digest(engine_state), data)

    async def _snapshot_forked(self) -> None:
        """A snapshot written by a forked child, as the core's: serialising a
        big state on the event loop took seconds, during which no batch was
        acknowledged, and in sync mode the primary put the standby out of
        step (refusing orders) for a snapshot."""
        try:
            sequence = self.sequence
            self.writer.roll()
            if await in_forked_child(lambda: self._write_snapshot(sequence)):
                prune(self.directory)
                self.snapshots += 1
            else:
                _log.error("replication: the standby's snapshot at %d failed", sequence)
        finally:
            self._snapshotter = None

    async def _run(self) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                await self._session()
                delay = RETRY_FIRST
            except OSError as error:
                _log.debug("replication: primary not reachable at %s (%s)", self.primary, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[None] = loop.create_future()
        transport, protocol = await loop.create_connection(
            lambda: _Protocol(self, lost), *self.primary
        )
        self._transport = transport
        try:
            transport.write(control(Kind.HELLO, ["standby", self.name, self.durable, self.term]))
            await lost
        finally:
            self._transport = None
            self.connected.clear()
            self._expected.clear()
            transport.abort()
        if protocol.failure is not None:
            raise protocol.failure
        if self._failure is not None:
            raise ReplicationDivergedError("the standby's journal failed") from self._failure

    # -- frames --------------------------------------------------------------

    def welcome(self, body: list[Any]) -> None:
        if len(body) != 3 or not all(type(value) is int for value in body):
            raise FrameError(f"the primary's first frame is not a WELCOME: {body!r}")
        live_from, term, pid = body
        if term < self.term:
            raise ReplicationDivergedError(
                f"the primary at {self.primary} has term {term}, older than {self.term} seen"
            )
        self.term = term
        self.connections += 1
        self._head(live_from - 1)
        self.connected.set()
        _log.info(
            "replication: following primary %s (pid %d, term %d) from %d; it has %d",
            self.primary, pid, term, self.sequence, live_from - 1,
        )  # fmt: skip

    def _head(self, sequence: int) -> None:
        self.primary_head = max(self.primary_head, sequence)
        if self.primary_head > self.durable and self.behind_since is None:
            self.behind_since = self._clock()

    def batch(self, body: bytes) -> None:
        first, payloads = read_run(body)
        have = self.sequence
        last = first + len(payloads) - 1
        self._head(last)
        if last <= have:
            return
        if first > have + 1:
            raise ReplicationDivergedError(
                f"the primary sent {first}..{last} to a standby at {have}"
            )
        payloads = payloads[have + 1 - first :]
        records = list(enumerate(payloads, have + 1))
        append = self.writer.append
        for sequence, payload in records:
            append(sequence, payload)
        expected = self._expected
        while expected and expected[0][0] <= last:
            at, wanted = expected.popleft()
            self.state.replay([record for record in records if record[0] <= at])
            records = [record for record in records if record[0] > at]
            self._check(at, wanted)
        self.state.replay(records)
        self._since_snapshot += len(payloads)
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._commit())

    def hash(self, body: list[Any]) -> None:
        if len(body) != 2 or type(body[0]) is not int or type(body[1]) is not str:
            raise FrameError(f"a HASH that is not [sequence, hash]: {body!r}")
        at, wanted = body
        if at == self.sequence:
            self._check(at, wanted)
        elif at > self.sequence:
            self._expected.append((at, wanted))

    def _check(self, at: int, wanted: str) -> None:
        own = self.state.engine.state_hash()
        if own != wanted:
            raise ReplicationDivergedError(
                f"state hash at sequence {at} is {own[:16]}..., the primary's is {wanted[:16]}...: "
                "this standby's state is not the primary's"
            )
        self.hashes_checked += 1

    async def _commit(self) -> None:
        """Commit what is appended, then ACK it; again while more came meanwhile."""
        try:
            while self.durable < self.sequence:
                target = self.sequence
                await self.writer.commit()
                self.durable = target
                if self.durable >= self.primary_head:
                    self.behind_since = None
                transport = self._transport
                if transport is not None and not transport.is_closing():
                    transport.write(control(Kind.ACK, [target]))
                if self._since_snapshot >= self.snapshot_every and self._snapshotter is None:
                    self._since_snapshot = 0
                    loop = asyncio.get_running_loop()
                    self._snapshotter = loop.create_task(self._snapshot_forked())
        except Exception as error:
            # A journal that cannot write must not acknowledge anything more.
            _log.critical("replication: the standby's journal failed", exc_info=error)
            self._failure = error
            if self._transport is not None:
                self._transport.abort()
        finally:
            self._committer = None


class _Protocol(asyncio.Protocol):
    def __init__(self, standby: Standby, lost: asyncio.Future[None]) -> None:
        self.standby = standby
        self.lost = lost
        self.reader = Reader()
        self.welcomed = False
        self.failure: BaseException | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        standby = self.standby
        try:
            for kind, body in self.reader.feed(data):
                if kind == Kind.REFUSE:
                    raise ReplicationDivergedError(f"the primary refused: {read_control(body)}")
                if not self.welcomed:
                    if kind != Kind.WELCOME:
                        raise FrameError(f"the primary's first frame is kind {kind}")
                    standby.welcome(read_control(body))
                    self.welcomed = True
                elif kind == Kind.BATCH:
                    standby.batch(body)
                elif kind == Kind.HASH:
                    standby.hash(read_control(body))
                else:
                    raise FrameError(f"frame kind {kind} from the primary")
        except (FrameError, ReplicationDivergedError) as error:
            _log.critical("replication: standby stops: %s", error)
            self.failure = (
                error
                if isinstance(error, ReplicationDivergedError)
                else ReplicationDivergedError(str(error))
            )
            assert self.transport is not None
            self.transport.abort()
