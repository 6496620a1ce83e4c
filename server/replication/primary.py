"""The primary's end of replication: ``ReplicationServer``, a TCP listener for one standby.

Every committed batch goes to the standby as the link's BATCH frame (the
journaled bytes with their sequences, ``server/link/frames.py``), written
without waiting like the link does; a standby connecting behind is first sent
the records it lacks, read from the journal files with ``JournalTail`` while
the live frames for it are held. Every ``hash_every`` sequences a HASH frame
follows the batch: the engine's state hash and the sequence it is at, which
the standby compares on reaching that sequence.
The standby answers with ACK frames naming its highest durable sequence.

The handshake carries the primary's term (``TERM``, 1 until leadership
exists): the standby records it, and failover (decision 0010) will fence
by it.

In sync mode this is also the gate between the sequencer and the link:
the link's listener is added here rather than to the sequencer, and sees a
committed batch only once the standby has acknowledged it as durable, so no
gateway acknowledges, and no consumer publishes, what the standby lacks. The
release happens in the ACK's callback on the event loop: the core's one
thread never waits. A standby that is absent, or silent for ``timeout``
while a batch waits, is out of step; then ``refuse`` turns new commands away
(``refusal()``) and keeps holding what is sequenced until a standby has it,
and ``degrade`` releases everything and runs async, logging it loudly and
counting it, until a standby is in step again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from server.core.exchange import ExchangeCore
from server.journal.tail import JournalGapError, JournalTail
from server.link.frames import FrameError, Kind, Reader, control, read_control, run
from server.model.sequenced import Sequenced
from server.replication.settings import ReplicationSettings, parse_address

_log = logging.getLogger(__name__)

TERM = 1
"""The primary's term. Constant until leases exist: the failover step makes it
the etcd lease's revision and journals it (decision 0010)."""
CATCH_UP_CHUNK = 5_000
LAG_LIMIT = 64 * 1024 * 1024
"""Unsent bytes after which a live standby is dropped rather than buffered."""
HIGH_WATER = 4 * 1024 * 1024
"""Unsent bytes above which catching a standby up waits for the socket."""

Listener = Callable[[list[Sequenced]], object]


class StandbyRefusedError(ValueError):
    """A standby this primary must not feed: its journal or term is not this one's."""


class ReplicationServer:
    def __init__(
        self,
        core: ExchangeCore,
        settings: ReplicationSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = core
        self.settings = settings
        self.sync = settings.mode == "sync"
        self.strict = settings.on_timeout == "refuse"
        self.timeout = settings.timeout_ms / 1000
        self._clock = clock
        self.standby: _Standby | None = None
        self.acked = 0
        """The highest sequence the standby has said is durable."""
        self.in_step = False
        """A standby is connected, caught up and acknowledging within ``timeout``."""
        self.degradations = 0
        """Times sync mode fell back to async (``on_timeout = "degrade"``)."""
        self.refused = 0
        """Commands refused for want of a standby in step."""
        self._listeners: list[Listener] = []
        self._held: deque[tuple[list[Sequenced], float]] = deque()
        """Sync mode: committed batches the standby has not acknowledged, with
        when each was committed."""
        self._unacked: deque[tuple[int, float]] = deque()
        """While a standby is connected: the last sequence of each batch sent
        and not acknowledged yet, with when it was committed (the lag)."""
        self._since = clock()
        """When the standby left (or this server started without one)."""
        self._timer: asyncio.TimerHandle | None = None
        self._server: asyncio.AbstractServer | None = None
        self._last_hash = core.sequencer.durable_sequence
        self.durable_sequence = core.sequencer.durable_sequence
        """The last sequence let through the gate: what the link's processes may
        read from the journal files (in async mode, the sequencer's)."""
        core.sequencer.add_listener(self._committed)

    # -- the gate ----------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with each committed batch once it may leave the
        core: at once in async mode, after the standby's ack in sync mode."""
        self._listeners.append(listener)

    def refusal(self) -> str | None:
        """Why a new command must be refused now (strict sync mode with no
        standby in step), or None."""
        if self.sync and self.strict and not self.in_step:
            self.refused += 1
            return (
                "replication unavailable: no standby has acknowledged the journal within "
                f"{self.settings.timeout_ms} ms (sync mode refuses until one does)"
            )
        return None

    @property
    def degraded(self) -> bool:
        """Sync mode acknowledging without a standby (``on_timeout = "degrade"``)."""
        return self.sync and not self.strict and not self.in_step

    @property
    def holding(self) -> bool:
        return self.sync and (self.strict or self.in_step)

    def lag(self) -> tuple[int, float]:
        """Records committed here and not acknowledged by the standby, and the
        seconds the oldest of them has waited (since the standby left, if
        none is connected)."""
        durable = self.core.sequencer.durable_sequence
        behind = max(durable - self.acked, 0)
        if not behind:
            return 0, 0.0
        standby = self.standby
        if self._unacked and standby is not None and self.acked >= standby.live_from - 1:
            return behind, self._clock() - self._unacked[0][1]
        # No standby, or one still catching up: behind since it was last here.
        return behind, self._clock() - self._since

    def _committed(self, batch: list[Sequenced]) -> None:
        """A sequencer listener: the batch to the standby, then through the gate."""
        standby = self.standby
        last = batch[-1].sequence
        every = self.settings.hash_every
        crossed = last // every > self._last_hash // every
        if crossed:
            self._last_hash = last
        if standby is not None:
            self._unacked.append((last, self._clock()))
            standby.send(run(Kind.BATCH, batch[0].sequence, [item.payload for item in batch]))
            if crossed:
                # The engine has already applied what was sequenced while this
                # batch was committing: the hash is at the sequencer's sequence,
                # which the standby reaches with a later batch and compares there.
                sequencer = self.core.sequencer
                standby.send(
                    control(Kind.HASH, [sequencer.sequence, sequencer.engine.state_hash()])
                )
        if not self.holding or last <= self.acked:
            self._release(batch)
            return
        self._held.append((batch, self._clock()))
        if self._timer is None and self.in_step:
            self._timer = asyncio.get_running_loop().call_later(self.timeout, self._expired)

    def _release(self, batch: list[Sequenced]) -> None:
        self.durable_sequence = batch[-1].sequence
        for listener in self._listeners:
            listener(batch)

    def acknowledged(self, sequence: int) -> None:
        """The standby's ACK: release every held batch it covers, in order."""
        if sequence > self.acked:
            self.acked = sequence
            self._advance()

    def _advance(self) -> None:
        unacked = self._unacked
        while unacked and unacked[0][0] <= self.acked:
            unacked.popleft()
        held = self._held
        while held and held[0][0][-1].sequence <= self.acked:
            self._release(held.popleft()[0])
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        standby = self.standby
        if standby is not None and not self.in_step and self.acked >= standby.live_from - 1:
            self.in_step = True
            _log.warning("replication: standby %s in step at sequence %d", standby.name, self.acked)
        if held and self.in_step:
            waited = self._clock() - held[0][1]
            self._timer = asyncio.get_running_loop().call_later(
                max(self.timeout - waited, 0), self._expired
            )

    def _expired(self) -> None:
        self._timer = None
        if self._held:
            self._out_of_step(f"no ack within {self.settings.timeout_ms} ms")

    def _out_of_step(self, why: str) -> None:
        was = self.in_step
        self.in_step = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.sync:
            return
        if self.strict:
            if was:
                _log.error(
                    "replication: standby out of step (%s); refusing new commands until one "
                    "acknowledges (%d committed batches held)",
                    why, len(self._held),
                )  # fmt: skip
            return
        self.degradations += 1
        _log.critical(
            "replication: standby out of step (%s); DEGRADED to async: acknowledging without "
            "the standby (%d held batches released)",
            why, len(self._held),
        )  # fmt: skip
        while self._held:
            self._release(self._held.popleft()[0])

    # -- the listener --------------------------------------------------------

    async def start(self) -> None:
        host, port = parse_address(self.settings.listen, "replication.listen")
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Standby(self), host, port
        )
        if self.degraded:
            _log.critical(
                "replication: sync mode DEGRADED to async until a standby is in step "
                "(on_timeout = degrade)"
            )

    @property
    def port(self) -> int:
        assert self._server is not None
        # uvloop's servers are not subclasses of asyncio's, only alike.
        return int(cast(asyncio.Server, self._server).sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self.standby is not None:
            self.standby.transport.abort()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def hello(self, standby: _Standby, hello: list[Any]) -> int:
        """A standby's HELLO ``["standby", name, position, term]``: the first
        live sequence it gets, after the journal records it lacks."""
        if len(hello) != 4 or hello[0] != "standby" or type(hello[1]) is not str:
            raise FrameError(f"a HELLO that is not [standby, name, position, term]: {hello!r}")
        _, name, position, term = hello
        if type(position) is not int or type(term) is not int or position < 0:
            raise FrameError(f"a HELLO whose position or term is not a number: {hello!r}")
        durable = self.core.sequencer.durable_sequence
        if position > durable:
            raise StandbyRefusedError(
                f"standby {name} is at {position}, ahead of this primary's {durable}: "
                "its journal is not this one's"
            )
        if term > TERM:
            raise StandbyRefusedError(
                f"standby {name} has seen term {term}, newer than this one's {TERM}"
            )
        if self.standby is not None:
            _log.warning("replication: standby %s replaces %s", name, self.standby.name)
            self.standby.transport.abort()
            self._out_of_step(f"replaced by standby {name}")
        self.standby = standby
        standby.live_from = durable + 1
        # A standby says how far its journal is durable: as good as an ACK.
        self.acked = position
        self._advance()
        return durable + 1

    def left(self, standby: _Standby) -> None:
        if self.standby is standby:
            self.standby = None
            self._since = self._clock()
            self._unacked.clear()
            self._out_of_step("the standby disconnected")


class _Standby(asyncio.Protocol):
    def __init__(self, server: ReplicationServer) -> None:
        self.server = server
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.reader = Reader()
        self.name = "?"
        self.live_from = 0
        self.held: list[bytes] | None = None
        """Live frames kept while the journal catch-up is being sent; None once live."""
        self._drained = asyncio.Event()
        self._drained.set()
        self._catch_up: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=HIGH_WATER)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._catch_up is not None:
            self._catch_up.cancel()
        self._drained.set()
        if self.live_from:
            _log.warning("replication: standby %s left", self.name)
        self.server.left(self)

    def pause_writing(self) -> None:
        self._drained.clear()

    def resume_writing(self) -> None:
        self._drained.set()

    def send(self, frame: bytes) -> None:
        if self.held is not None:
            self.held.append(frame)
            return
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > LAG_LIMIT:
            # As the link does: never buffer without bound for a slow reader;
            # it reconnects and is caught up from the journal files.
            _log.warning(
                "replication: standby %s is more than %d bytes behind; disconnected",
                self.name, LAG_LIMIT,
            )  # fmt: skip
            transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            for kind, body in self.reader.feed(data):
                if not self.live_from:
                    if kind != Kind.HELLO:
                        raise FrameError(f"frame kind {kind} before HELLO")
                    try:
                        self._hello(read_control(body))
                    except StandbyRefusedError as error:
                        _log.critical("replication: %s", error)
                        # Said to the standby, which stops instead of retrying.
                        self.transport.write(control(Kind.REFUSE, [str(error)]))
                        self.transport.close()
                        return
                elif kind == Kind.ACK:
                    ack = read_control(body)
                    if len(ack) != 1 or type(ack[0]) is not int:
                        raise FrameError(f"an ACK that is not [sequence]: {ack!r}")
                    if ack[0] > self.server.core.sequencer.durable_sequence:
                        raise FrameError(f"an ACK of {ack[0]}, beyond what was sent")
                    self.server.acknowledged(ack[0])
                else:
                    raise FrameError(f"frame kind {kind} from a standby")
        except FrameError as error:
            _log.error("replication: standby %s broke the protocol (%s)", self.name, error)
            self.transport.abort()

    def _hello(self, hello: list[Any]) -> None:
        self.name = str(hello[1]) if len(hello) > 1 else "?"
        self.server.hello(self, hello)
        position = hello[2]
        self.transport.write(control(Kind.WELCOME, [self.live_from, TERM, os.getpid()]))
        _log.info(
            "replication: standby %s connected at %d; sending from %d, live from %d",
            self.name, position, position + 1, self.live_from,
        )  # fmt: skip
        if position + 1 < self.live_from:
            self.held = []
            self._catch_up = asyncio.get_running_loop().create_task(
                self._send_journal(position, self.live_from - 1)
            )

    async def _send_journal(self, after: int, until: int) -> None:
        """The records ``after + 1 .. until`` from the journal files, then the held live frames."""
        tail = JournalTail(self.server.core.directory, after)
        try:
            while tail.next_sequence <= until:
                records = tail.read(CATCH_UP_CHUNK, up_to=until)
                if not records:
                    raise JournalGapError(f"the journal ends before {until}")
                self.transport.write(
                    run(Kind.BATCH, records[0][0], [payload for _, payload in records])
                )
                await self._drained.wait()
                await asyncio.sleep(0)
        except JournalGapError as error:
            _log.critical(
                "replication: cannot catch standby %s up from %d: %s (give it a copy of a "
                "snapshot and the journal after it)",
                self.name, after, error,
            )  # fmt: skip
            self.transport.write(control(Kind.REFUSE, [f"cannot catch up from {after}: {error}"]))
            self.transport.close()
            return
        held, self.held = self.held, None
        for frame in held or ():
            self.transport.write(frame)


def retain_from(server: ReplicationServer, needed: int) -> int:
    """What pruning must keep for the standby too: nothing it has not acknowledged."""
    if server.standby is None and not server.acked:
        return needed
    return min(needed, server.acked)


__all__ = ["TERM", "ReplicationServer", "StandbyRefusedError", "retain_from"]
