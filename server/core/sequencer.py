"""The sequencer: the one writer of engine state.

Every command from every gateway passes ``submit``, which runs to completion
without awaiting: it takes the next sequence number and a timestamp, appends
the encoded command to the journal's buffer, and applies it to the engine.
Because the whole process runs on one event loop, that synchronous call *is*
the single-threaded sequencing; no lock is needed.

Nothing leaves the process before it is durable: listeners (execution
reports, market data, persistence) are called in sequence order only after
the journal has committed the batch, and gateways ``await durable()`` before
acknowledging. Commands that arrive while a commit is in flight form the next
batch (group commit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from matching import Command, Engine
from server.journal.codec import Origin, encode
from server.model.sequenced import Sequenced

_log = logging.getLogger(__name__)


class Journal(Protocol):
    def append(self, sequence: int, payload: bytes) -> None: ...

    async def commit(self) -> None: ...

    def commit_written(self) -> bool: ...


Listener = Callable[[list[Sequenced]], object]

_new_sequenced = tuple.__new__
"""Builds a ``Sequenced`` without its generated ``__new__`` and keyword
handling: on the hot path of every command (as ``_new_report`` does)."""


class Sequencer:
    def __init__(
        self,
        engine: Engine,
        journal: Journal,
        *,
        last_sequence: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self._journal = journal
        self._clock = clock
        self._last_time = engine.now
        self.sequence = last_sequence
        """The number of the last command applied."""
        self.durable_sequence = last_sequence
        """The number of the last command the journal has committed."""
        self._pending: list[Sequenced] = []
        self._listeners: list[Listener] = []
        self._flusher: asyncio.Task[None] | None = None
        self._committing = False
        """A batch taken by the flusher is waiting for the journal."""
        self._committed = asyncio.Event()
        self._failure: BaseException | None = None
        self.commit_observer: Callable[[float], None] | None = None
        """Given each batch's journal commit time in seconds (the metrics)."""

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with each committed batch, in sequence order.

        Listeners run on the event loop between batches: they must only
        hand the batch on (enqueue), never block.
        """
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def now(self) -> int:
        """The timestamp for the next command: wall-clock nanoseconds that never
        go backwards, even if the system clock does."""
        current = self._clock()
        current = max(current, self._last_time)
        return current

    def submit(
        self, command: Command, client_order_id: str = "", origin: Origin | None = None
    ) -> Sequenced:
        """Apply ``command`` now; its effects are durable once ``durable()`` returns.

        ``command.timestamp`` must come from ``now()`` with no ``await`` in
        between, so timestamps follow sequence order.
        """
        if self._failure is not None:
            raise RuntimeError("the journal failed; the sequencer accepts nothing more")
        if command.timestamp < self._last_time:
            raise ValueError(
                f"timestamp {command.timestamp} precedes the last one {self._last_time}"
            )
        sequence = self.sequence + 1
        payload = encode(command, client_order_id, origin)
        self._journal.append(sequence, payload)
        events = self.engine.process(command)
        self.sequence = sequence
        self._last_time = command.timestamp
        # The payload rides along so the link sends consumers the journaled bytes as they are.
        applied: Sequenced = _new_sequenced(
            Sequenced, (sequence, command, events, client_order_id, payload)
        )
        self._pending.append(applied)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return applied

    def mark(self) -> int:
        """The last sequence submitted: ``durable(mark)`` waits for it alone,
        not for what is submitted after."""
        return self.sequence

    async def available(self) -> None:
        """The sequencer is always there for its own process."""

    async def durable(self, mark: int | None = None) -> None:
        """Return once every command submitted so far (or up to ``mark``) is committed."""
        target = self.sequence if mark is None else mark
        while self.durable_sequence < target:
            if self._failure is not None:
                raise RuntimeError("the journal failed") from self._failure
            self._committed.clear()
            await self._committed.wait()

    def commit_now(self) -> None:
        """Commit and publish what is pending in this step of the event loop, when
        the journal's policy lets it do so without waiting (it does not for
        ``always``: the flusher then waits for the fsync as usual).

        The order stream calls this after each message: its reports reach
        the stream's writer two turns of the event loop sooner than through
        the flusher task, which then finds nothing left to do.
        """
        if not self._pending or self._committing or self._failure is not None:
            return
        started = time.perf_counter()
        try:
            if not self._journal.commit_written():
                return
        except Exception as error:
            self._fail(error)
            return
        if self.commit_observer is not None:
            self.commit_observer(time.perf_counter() - started)
        batch = self._pending
        self._pending = []
        self._publish(batch)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending
                self._pending = []
                self._committing = True
                started = time.perf_counter()
                await self._journal.commit()
                if self.commit_observer is not None:
                    self.commit_observer(time.perf_counter() - started)
                self._committing = False
                self._publish(batch)
        except Exception as error:
            self._fail(error)
        finally:
            self._committing = False
            self._flusher = None

    def _publish(self, batch: list[Sequenced]) -> None:
        self.durable_sequence = batch[-1].sequence
        for listener in self._listeners:
            listener(batch)
        self._committed.set()

    def _fail(self, error: Exception) -> None:
        # A journal that cannot write means nothing more may be acknowledged;
        # the process must stop taking commands rather than trade unrecorded.
        _log.critical("journal commit failed; refusing further commands", exc_info=error)
        self._failure = error
        self._committed.set()
