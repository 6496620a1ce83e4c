"""A process's connection to the core: ``CoreClient``.

It connects (retrying with backoff until the core is up), says HELLO and
learns from WELCOME the first sequence the core will send live. Everything
before it is committed and in the journal files, so the replica catches up
by reading them (the same records recovery reads) while the live BATCH
frames that arrive meanwhile are held; then the held frames and everything
after are applied as they come. A batch the replica already has is skipped,
so nothing is applied twice whichever way it arrived; a gap is a bug and
stops the client.

Losing the connection fails the gateway's requests in flight ("core
unavailable", their outcome unknown), then the client reconnects and
catches up again: a restarted core, or a drop for lagging, costs the
process a journal read and the core nothing. If the journal was pruned past
the replica, the replica restarts from the newest snapshot and tells its
reset listeners.

With no replica, the client only follows positions (the projector, which
reads the journal itself and only needs to know what is committed).

A consumer (no gateway's requests ride on its connection) takes the BATCH
frames that one read brought as one batch, and may be paced: after each
read its socket is left unread for ``pace`` seconds, so the frames committed
meanwhile wait in the kernel and are handled at the next wake, together. At
one order per batch, each process woke, read, applied and ran its listeners
once per order (the projector, analytics and surveillance together spent
about half the exchange's CPU so, docs/performance.md); paced, they wake a
few times a second whatever the rate, and the core's writes into the socket
cost it the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

from server.journal.snapshots import load_latest_snapshot
from server.journal.tail import JournalGapError, JournalTail
from server.link.frames import FrameError, Kind, Reader, control, read_control, read_run, run_header
from server.link.listener import SOCKET_NAME
from server.link.replica import Replica
from server.model.sequenced import Sequenced

_log = logging.getLogger(__name__)

RETRY_FIRST = 0.05
RETRY_MAX = 1.0
CATCH_UP_CHUNK = 5_000
"""Records applied between two turns of the event loop while catching up."""


class Requester(Protocol):
    """The gateway's side of the requests (``RemoteSequencer``)."""

    def connected(self, transport: asyncio.Transport) -> None: ...

    def disconnected(self) -> None: ...

    def answer(self, first: int, results: list[Any], batch: list[Sequenced]) -> None: ...


class LinkGapError(RuntimeError):
    """The core sent a batch that does not follow what this process has: a bug."""


class CoreClient:
    def __init__(
        self,
        directory: Path,
        replica: Replica | None = None,
        *,
        role: str = "consumer",
        name: str = "",
        path: Path | None = None,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        pace: float = 0.0,
    ) -> None:
        if role == "gateway" and replica is None:
            raise ValueError("a gateway needs a replica")
        self.directory = directory
        self.replica = replica
        self.role = role
        self.name = name
        self.path = path if path is not None else directory / SOCKET_NAME
        self.retry_first = retry_first
        self.retry_max = retry_max
        if pace and role == "gateway":
            raise ValueError("a gateway's answers cannot wait: it is never paced")
        self.pace = pace
        """Seconds a consumer leaves its socket unread after each read (0: none)."""
        self.position = 0 if replica is None else replica.sequence
        """The last committed sequence this process has (applied, with a replica)."""
        self.position_listeners: list[Callable[[int], None]] = []
        """Called with the new position after each committed batch."""
        self.ready = asyncio.Event()
        """Set while connected and caught up; cleared on a disconnection."""
        self.connections = 0
        self.caught_up = 0
        """Records read from the journal instead of the link, over all connections."""
        self.core_pid = 0
        self.remote: Requester | None = None
        """The gateway's sequencer, told of answers and disconnections."""
        self.last_batch: list[Sequenced] = []
        """The batch applied last: a RESULT names sequences of it."""
        self._task: asyncio.Task[None] | None = None
        self._protocol: _Protocol | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until connected and caught up; raise what stopped the client, if anything."""
        waiter = asyncio.ensure_future(self.ready.wait())
        assert self._task is not None
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if self._task in done:
            waiter.cancel()
            self._task.result()
        if waiter not in done:
            waiter.cancel()
            raise TimeoutError(f"not caught up with the core within {timeout} s")

    async def _run(self) -> None:
        delay = self.retry_first
        while True:
            try:
                await self._session()
                delay = self.retry_first
            except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError) as error:
                _log.debug("link: core not reachable at %s (%s)", self.path, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        welcome: asyncio.Future[list[Any]] = loop.create_future()
        lost: asyncio.Future[None] = loop.create_future()
        transport, protocol = await loop.create_unix_connection(
            lambda: _Protocol(self, welcome, lost), str(self.path)
        )
        self._protocol = protocol
        try:
            # A paced consumer is a follower: the core may hold its batches a moment.
            role = "follower" if self.pace else self.role
            transport.write(control(Kind.HELLO, [role, self.name, self.position]))
            first: set[asyncio.Future[Any]] = {welcome, lost}
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            if not welcome.done():
                return
            live_from, self.core_pid = welcome.result()
            self.connections += 1
            await self._catch_up(live_from - 1)
            if lost.done():
                return
            protocol.release()
            if lost.done():
                return
            if self.remote is not None:
                self.remote.connected(transport)
            self.ready.set()
            await lost
        finally:
            self.ready.clear()
            self._protocol = None
            if self.remote is not None:
                self.remote.disconnected()
            transport.abort()
            if protocol.failure is not None:
                raise protocol.failure

    async def _catch_up(self, until: int) -> None:
        """Apply the journal's records up to ``until`` (committed, the core said)."""
        replica = self.replica
        if replica is None:
            self._advance(until)
            return
        tail = JournalTail(self.directory, replica.sequence)
        while replica.sequence < until:
            try:
                records = tail.read(CATCH_UP_CHUNK, up_to=until)
            except JournalGapError:
                snapshot = load_latest_snapshot(self.directory)
                if snapshot is None or snapshot["sequence"] <= replica.sequence:
                    raise
                _log.warning(
                    "link: the journal no longer holds record %d; starting again from the "
                    "snapshot at %d",
                    replica.sequence + 1,
                    snapshot["sequence"],
                )
                replica.reset(self.directory)
                tail = JournalTail(self.directory, replica.sequence)
                continue
            if not records:
                raise LinkGapError(
                    f"the core committed up to {until}, but the journal ends at {replica.sequence}"
                )
            replica.apply(records[0][0], [payload for _, payload in records])
            self.caught_up += len(records)
            self._advance(replica.sequence)
            await asyncio.sleep(0)
        # A reset may have brought the replica to the end without a record to read.
        self._advance(replica.sequence)

    def _advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            for listener in self.position_listeners:
                listener(position)

    def batch(self, body: bytes) -> None:
        """A live BATCH frame (a gateway's: a RESULT names sequences of it)."""
        self.batches([body])

    def batches(self, bodies: list[bytes]) -> None:
        """Live BATCH frames, in the order the core sent them, applied as one
        batch. What the replica already has is skipped; a gap is a bug."""
        replica = self.replica
        if replica is None:
            first, count = run_header(bodies[-1])
            self._advance(first + count - 1)
            return
        have = replica.sequence
        payloads: list[bytes] = []
        for body in bodies:
            first, run_payloads = read_run(body)
            wanted = have + len(payloads) + 1
            last = first + len(run_payloads) - 1
            if last < wanted:
                continue
            if first > wanted:
                raise LinkGapError(f"the core sent {first}..{last} to a replica at {wanted - 1}")
            payloads += run_payloads[wanted - first :] if first < wanted else run_payloads
        if payloads:
            self.last_batch = replica.apply(have + 1, payloads)
            self._advance(replica.sequence)

    def result(self, body: bytes) -> None:
        answer = read_control(body)
        if self.remote is None or len(answer) != 2:
            raise FrameError(f"an unexpected RESULT: {body[:80]!r}")
        self.remote.answer(answer[0], answer[1], self.last_batch)

    @property
    def transport(self) -> asyncio.Transport | None:
        """The connection to the core while there is one."""
        return None if self._protocol is None else self._protocol.transport


class _Protocol(asyncio.Protocol):
    def __init__(
        self,
        client: CoreClient,
        welcome: asyncio.Future[list[Any]],
        lost: asyncio.Future[None],
    ) -> None:
        self.client = client
        self.welcome = welcome
        self.lost = lost
        self.reader = Reader()
        self.transport: asyncio.Transport | None = None
        self.held: list[tuple[int, bytes]] | None = []
        """Frames after WELCOME kept while catching up; None once live."""
        self.failure: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
            held = self.held
            if held is None:
                self._frames(frames)
            else:  # live only once the session's task has caught up: after this read
                for kind, body in frames:
                    if self.welcome.done():
                        held.append((kind, body))
                    else:
                        self._welcome(kind, body)
        except Exception as error:
            # A bug on either side: stop this client loudly rather than drift.
            self._failed(error)
            return
        pace = self.client.pace
        if pace and self.held is None and self.transport is not None:
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(pace, self._resume)

    def _resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _failed(self, error: Exception) -> None:
        _log.exception("link: failed on a frame from the core", exc_info=error)
        self.failure = error
        assert self.transport is not None
        self.transport.abort()

    def _welcome(self, kind: int, body: bytes) -> None:
        answer = read_control(body)
        if kind != Kind.WELCOME or len(answer) != 2 or not all(type(x) is int for x in answer):
            raise FrameError(f"the core's first frame is not a WELCOME: {body[:80]!r}")
        self.welcome.set_result(answer)

    def _frames(self, frames: list[tuple[int, bytes]]) -> None:
        client = self.client
        if client.remote is not None:
            for kind, body in frames:
                if kind == Kind.BATCH:
                    client.batch(body)
                elif kind == Kind.RESULT:
                    client.result(body)
                else:
                    raise FrameError(f"frame kind {kind} from the core")
            return
        bodies: list[bytes] = []
        for kind, body in frames:
            if kind != Kind.BATCH:
                raise FrameError(f"frame kind {kind} from the core to a consumer")
            bodies.append(body)
        if bodies:
            client.batches(bodies)

    def release(self) -> None:
        """Caught up: apply the held frames, then each read's as it arrives."""
        held, self.held = self.held, None
        try:
            self._frames(held or [])
        except Exception as error:
            self._failed(error)
