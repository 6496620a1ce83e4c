"""The core's end of the link: ``CoreLinkServer`` on ``<data_dir>/core.sock``.

Why it looks like this: the core's one thread is the exchange's ceiling, so
everything here is O(1) per connection per committed batch and never waits
for anyone. Each committed batch becomes one BATCH frame, built once from
the payloads the sequencer journaled, and the same bytes are written to
every connection without awaiting. A connection whose unsent bytes pass
``lag_limit`` is dropped (its process reconnects and catches up from the
journal); a gateway whose replies pile up past the transport's high-water
mark is not read until they drain, which pushes back on its clients.

Gateways' commands are decoded, checked for a duplicate client order id
(the registry's used ids plus the ids this link submitted whose batch is not
committed yet: only the single writer sees every gateway's commands, so only
it can refuse the second of two racing gateways), re-stamped with the
sequencer's clock and submitted in one synchronous section per frame. Their
RESULT follows the BATCH frame that holds their sequences on the same
connection, so a gateway's replica has applied them before it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

from matching import NewOrder, RejectReason
from server.core.exchange import ExchangeCore
from server.journal.codec import CodecError, Origin, decode_with_origin
from server.link.frames import (
    HELLO_ROLES,
    FrameError,
    Kind,
    Reader,
    control,
    read_control,
    read_run,
    run,
)
from server.model.sequenced import Sequenced

_log = logging.getLogger(__name__)

SOCKET_NAME = "core.sock"
LAG_LIMIT = 16 * 1024 * 1024
"""Unsent bytes after which a connection is dropped rather than buffered."""
FOLLOWER_FLUSH = 0.02
"""Seconds the core holds a follower's batches before writing them in one go:
one write per follower every 20 ms instead of one per committed batch (a
follower reads its socket at most every 50 ms anyway, ``CONSUMER_PACE``)."""
HIGH_WATER = 1024 * 1024
"""Unsent bytes above which a gateway's commands are no longer read."""
MALFORMED = 0
"""The reason code of a payload that is not an encoded command (no engine
reason fits: the gateway that sent it has a bug)."""
UNREPLICATED = -2
"""The reason code of a command refused because sync replication has no
standby in step: the gateway answers UNAVAILABLE (nothing was sequenced)."""


class BatchSource(Protocol):
    """Where committed batches come from: the sequencer, or the replication
    gate that passes them on once the standby has them (sync mode)."""

    @property
    def durable_sequence(self) -> int:
        """The last sequence passed to the listeners (in the journal files by then)."""
        ...

    def add_listener(self, listener: Callable[[list[Sequenced]], object]) -> None: ...


class CoreLinkServer:
    """Serves an ``ExchangeCore`` to gateways and consumers over a Unix socket."""

    def __init__(
        self,
        core: ExchangeCore,
        path: Path | None = None,
        *,
        lag_limit: int = LAG_LIMIT,
        high_water: int = HIGH_WATER,
        source: BatchSource | None = None,
        admission: Callable[[], str | None] | None = None,
    ) -> None:
        self.core = core
        self.path = path if path is not None else core.directory / SOCKET_NAME
        self.lag_limit = lag_limit
        self.high_water = high_water
        self.connections: set[_Connection] = set()
        self.dropped = 0
        """Connections closed for lagging past ``lag_limit``."""
        self.refused = 0
        """Commands refused (duplicate client order ids, undecodable payloads)."""
        self.queue_observer: Callable[[float], None] | None = None
        """Given, once per COMMANDS frame, the seconds from the gateway's
        placeholder timestamp of its first command to its sequencing."""
        self.trace_observer: Callable[[str, Sequenced], None] | None = None
        """Given each command that came with a ``traceparent`` (a sampled
        trace), as sequenced (``server/tracing/core_spans.py``)."""
        self._pending_ids: set[tuple[str, str]] = set()
        """(account, client order id) of new orders submitted, not yet committed."""
        self._server: asyncio.AbstractServer | None = None
        self.admission = admission
        """Why commands must be refused now (sync replication without a
        standby in step), or None; asked once per COMMANDS frame."""
        self.source: BatchSource = core.sequencer if source is None else source
        self.source.add_listener(self._committed)

    async def start(self) -> None:
        """Listen; the socket file is mode 0600 before anyone can connect.

        A socket file left by a core that died is replaced: the data
        directory's lock says no other core runs here."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            sock.bind(str(temporary))
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
            sock.listen(64)
            sock.setblocking(False)
            self._server = await asyncio.get_running_loop().create_unix_server(
                lambda: _Connection(self), sock=sock
            )
        except BaseException:
            sock.close()
            raise

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.transport.abort()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _committed(self, batch: list[Sequenced]) -> None:
        """A sequencer listener: the batch to every connection, once."""
        pending_ids = self._pending_ids
        if pending_ids:
            for item in batch:
                # A cancel's or replace's id is its request's, never reserved.
                if item.client_order_id and type(item.command) is NewOrder:
                    pending_ids.discard((item.command.account, item.client_order_id))
        if not self.connections:
            return
        frame = run(Kind.BATCH, batch[0].sequence, [item.payload for item in batch])
        last = batch[-1].sequence
        for connection in list(self.connections):
            connection.committed(frame, last)

    def submit(self, connection: _Connection, first_request: int, payloads: list[bytes]) -> None:
        """One COMMANDS frame into the sequencer, in one synchronous section."""
        core = self.core
        sequencer = core.sequencer
        is_duplicate = core.registry.is_duplicate
        pending_ids = self._pending_ids
        results: list[Any] = []
        last = 0
        observe = self.queue_observer
        traced = self.trace_observer
        unavailable = None if self.admission is None else self.admission()
        if unavailable is not None:
            self.refused += len(payloads)
            refusal = [0, UNREPLICATED, unavailable]
            connection.send(control(Kind.RESULT, [first_request, [refusal] * len(payloads)]))
            return
        for payload in payloads:
            try:
                command, client_order_id, origin = decode_with_origin(payload)
            except CodecError as error:
                _log.error("%s sent a payload that is not a command: %s", connection.name, error)
                results.append([0, MALFORMED, str(error)])
                self.refused += 1
                continue
            key = None
            if client_order_id and type(command) is NewOrder:
                key = (command.account, client_order_id)
                if key in pending_ids or is_duplicate(*key):
                    self.refused += 1
                    results.append(
                        [
                            0,
                            int(RejectReason.DUPLICATE_CLIENT_ORDER_ID),
                            f"client_order_id {client_order_id!r} is already used by "
                            f"account {command.account!r}",
                        ]
                    )
                    continue
            # The gateway's timestamp is a placeholder: time follows sequence order only here.
            stamped = command._replace(timestamp=sequencer.now())
            if origin is not None:
                # The placeholder is when the gateway made the command: journaled
                # with the sender, it gives the analytics store its latency.
                user_id, source, gateway, traceparent, _ = origin
                origin = Origin(user_id, source, gateway, traceparent, command.timestamp)
            if observe is not None:
                observe((stamped.timestamp - command.timestamp) / 1e9)
                observe = None
            applied = sequencer.submit(stamped, client_order_id, origin)
            last = applied.sequence
            if traced is not None and origin is not None and origin.traceparent:
                traced(origin.traceparent, applied)
            if key is not None:
                pending_ids.add(key)
            results.append(last)
        if last:
            connection.awaiting.append((last, control(Kind.RESULT, [first_request, results])))
        else:
            connection.send(control(Kind.RESULT, [first_request, results]))


class _Connection(asyncio.Protocol):
    def __init__(self, server: CoreLinkServer) -> None:
        self.server = server
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.reader = Reader()
        self.role = ""
        self.name = "?"
        self.awaiting: deque[tuple[int, bytes]] = deque()
        """RESULT frames owed, each with the last sequence it needs committed first."""
        self.submitted = False
        self.held: list[bytes] = []
        """A follower's batches not written yet."""
        self._flush: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=self.server.high_water)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self.held = []
        self.server.connections.discard(self)
        if self.role:
            _log.info("link: %s %s left", self.role, self.name)

    def pause_writing(self) -> None:
        # A gateway that does not read its replies is not read either.
        if self.role == "gateway":
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.role == "gateway" and not self.transport.is_closing():
            self.transport.resume_reading()

    def send(self, frame: bytes) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > self.server.lag_limit:
            self._drop()

    def committed(self, frame: bytes, last: int) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        if self.role == "follower":
            self.held.append(frame)
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(
                    FOLLOWER_FLUSH, self._write_held
                )
            return
        awaiting = self.awaiting
        if awaiting and awaiting[0][0] <= last:
            # The batch and the answers it completes, in one write.
            frames = [frame]
            while awaiting and awaiting[0][0] <= last:
                frames.append(awaiting.popleft()[1])
            transport.writelines(frames)
        else:
            transport.write(frame)
        if transport.get_write_buffer_size() > self.server.lag_limit:
            self._drop()

    def _write_held(self) -> None:
        self._flush = None
        held, self.held = self.held, []
        transport = self.transport
        if held and not transport.is_closing():
            transport.writelines(held)
            if transport.get_write_buffer_size() > self.server.lag_limit:
                self._drop()

    def _drop(self) -> None:
        self.server.dropped += 1
        _log.warning(
            "link: %s %s is more than %d bytes behind; disconnected (it catches up from "
            "the journal)",
            self.role, self.name, self.server.lag_limit,
        )  # fmt: skip
        self.server.connections.discard(self)
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
            for kind, body in frames:
                self._frame(kind, body)
        except FrameError as error:
            _log.error(
                "link: %s %s broke the protocol (%s); disconnected", self.role, self.name, error
            )
            self.transport.abort()
            return
        if self.submitted:
            self.submitted = False
            # One commit for everything this read brought, as the order stream does per message.
            self.server.core.sequencer.commit_now()

    def _frame(self, kind: int, body: bytes) -> None:
        if not self.role:
            if kind != Kind.HELLO:
                raise FrameError(f"frame kind {kind} before HELLO")
            self._hello(read_control(body))
        elif kind == Kind.COMMANDS and self.role == "gateway":
            first, payloads = read_run(body)
            self.server.submit(self, first, payloads)
            self.submitted = True
        else:
            raise FrameError(f"frame kind {kind} from a {self.role}")

    def _hello(self, hello: list[Any]) -> None:
        if len(hello) != 3 or hello[0] not in HELLO_ROLES or type(hello[1]) is not str:
            raise FrameError(f"a HELLO that is not [role, name, position]: {hello!r}")
        role, name, position = hello
        if type(position) is not int:
            raise FrameError(f"a HELLO whose position is not a number: {position!r}")
        # Everything up to the durable sequence is committed and written to
        # the journal files; every later batch is published, and sent here.
        live_from = self.server.source.durable_sequence + 1
        self.role, self.name = role, name
        self.server.connections.add(self)
        self.transport.write(control(Kind.WELCOME, [live_from, os.getpid()]))
        _log.info("link: %s %s connected at %d, sent from %d", role, name, position, live_from)
