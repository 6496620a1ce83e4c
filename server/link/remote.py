"""The gateway's sequencer: commands go to the core, answers come back.

``RemoteSequencer`` is the part of ``Sequencer`` the gRPC services use, so
they run in a gateway process unchanged. ``submit`` encodes the command
(journal codec, client order id and origin; the timestamp is a placeholder
the core replaces) and buffers it; what one step of the event loop submits
goes in one COMMANDS frame, as the in-process stream commits a message's
commands together. The returned ``Pending`` is complete once ``durable()``
has returned: the core has committed it, and the replica has applied the
batch holding it (the RESULT follows that batch on the connection), so its
events and reports are the ones an in-process sequencer would have given.

A refusal by the core (a duplicate client order id another gateway used
first) comes back as sequence 0 with an ``OrderRejected`` carrying the
core's reason, which the services already turn into a rejection (except
``UNREPLICATED``, sync replication without a standby, and ``MALFORMED``, a
payload the core could not decode, a bug of this gateway's that the core
logs: sequence ``LOST``, answered UNAVAILABLE with the core's words, since
neither has an engine reason a client could act on). If the
connection drops first, ``durable()`` raises ``CoreUnavailableError``: the
outcome is unknown, and nothing unacknowledged is ever reported as done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from matching import (
    CancelOrder,
    CancelRejected,
    Command,
    CommandRejected,
    Event,
    NewOrder,
    OrderRejected,
    RejectReason,
    ReplaceOrder,
)
from server.journal.codec import Origin, encode
from server.link.client import CoreClient
from server.link.frames import Kind, run
from server.link.listener import MALFORMED, UNREPLICATED
from server.model.sequenced import Sequenced
from server.model.view import CoreUnavailableError

LOST = -1
"""The sequence of a pending command whose answer a dropped connection took
with it: it may or may not have been applied."""


class Pending:
    """A submitted command, filled in when the core answers (sequence 0: the
    core refused it; ``LOST``: the connection dropped first)."""

    __slots__ = ("client_order_id", "command", "events", "sequence")

    def __init__(self, command: Command, client_order_id: str) -> None:
        self.sequence = 0
        self.command = command
        self.events: list[Event] = []
        self.client_order_id = client_order_id


class RemoteSequencer:
    def __init__(self, client: CoreClient, clock: Callable[[], int] = time.time_ns) -> None:
        replica = client.replica
        if replica is None:
            raise ValueError("a RemoteSequencer needs a client with a replica")
        self._client = client
        self._replica = replica
        self._clock = clock
        self._last_time = 0
        self._buffer: list[bytes] = []
        self._buffer_first = 1
        self._next_id = 1
        self._unanswered: dict[int, Pending] = {}
        """Request id -> pending, in id order (answers may come out of order)."""
        self._transport: asyncio.Transport | None = None
        self._drops = 0
        self._answered = asyncio.Event()
        client.remote = self
        replica.attach(self)

    @property
    def sequence(self) -> int:
        return self._replica.sequence

    @property
    def durable_sequence(self) -> int:
        return self._replica.sequence

    def now(self) -> int:
        """A placeholder timestamp (the core stamps each command), never going back."""
        self._last_time = max(self._clock(), self._last_time)
        return self._last_time

    def submit(
        self, command: Command, client_order_id: str = "", origin: Origin | None = None
    ) -> Pending:
        pending = Pending(command, client_order_id)
        if self._transport is None:
            return pending  # durable() raises: the core is not there
        request = self._next_id
        self._next_id = request + 1
        if not self._buffer:
            self._buffer_first = request
            asyncio.get_running_loop().call_soon(self.commit_now)
        self._buffer.append(encode(command, client_order_id, origin))
        self._unanswered[request] = pending
        return pending

    def commit_now(self) -> None:
        """Send what is buffered now."""
        if self._buffer and self._transport is not None:
            self._transport.write(run(Kind.COMMANDS, self._buffer_first, self._buffer))
        self._buffer = []

    def mark(self) -> int:
        """The last request id given: ``durable(mark)`` waits for it and those
        before it, not for what is submitted after."""
        return self._next_id - 1

    async def durable(self, mark: int | None = None) -> None:
        """Return once every command submitted so far (or up to ``mark``) is
        answered by the core; ``CoreUnavailableError`` if the connection is,
        or goes, down first."""
        if self._transport is None:
            raise CoreUnavailableError("core unavailable")
        self.commit_now()
        target = self._next_id - 1 if mark is None else mark
        drops = self._drops
        unanswered = self._unanswered
        while unanswered and next(iter(unanswered)) <= target and self._drops == drops:
            self._answered.clear()
            await self._answered.wait()
        if self._drops != drops:
            raise CoreUnavailableError(
                "core unavailable: the connection dropped before it answered"
            )

    async def available(self) -> None:
        """Return once connected to the core and caught up with what it committed."""
        await self._client.ready.wait()

    def connected(self, transport: asyncio.Transport) -> None:
        # Request ids go on increasing across connections (the core only echoes
        # them), so a mark taken before a drop never names a later request.
        self._transport = transport

    def disconnected(self) -> None:
        if self._transport is None:
            return
        self._transport = None
        self._drops += 1
        for pending in self._unanswered.values():
            pending.sequence = LOST
        self._unanswered.clear()
        self._buffer = []
        self._answered.set()

    def answer(self, first: int, results: list[Any], batch: list[Sequenced]) -> None:
        """A RESULT: each request's sequence in ``batch`` or the core's refusal."""
        unanswered = self._unanswered
        base = batch[0].sequence if batch else 0
        for request, result in enumerate(results, first):
            pending = unanswered.pop(request)
            if type(result) is int:
                applied = batch[result - base]
                pending.sequence = result
                pending.command = applied.command
                pending.events = applied.events
            else:
                _, reason, text = result
                pending.events = [_refusal(pending.command, reason, text)]
                if reason in (UNREPLICATED, MALFORMED):
                    # Not sequenced, and not the client's fault: answered as
                    # unavailable, like a core that is not there.
                    pending.sequence = LOST
        self._answered.set()


def _refusal(command: Command, reason: int, text: str) -> Event:
    """The event an in-process engine would have given a refused command."""
    why = RejectReason(reason) if reason in RejectReason._value2member_map_ else reason
    if type(command) is NewOrder:
        return OrderRejected(command.symbol, command.account, why, 0, text)  # type: ignore[arg-type]
    if type(command) in (CancelOrder, ReplaceOrder):
        return CancelRejected(command.order_id, command.account, why, text)  # type: ignore[union-attr, arg-type]
    return CommandRejected(getattr(command, "symbol", ""), why, text)  # type: ignore[arg-type]
