"""The core's span of a traced command: sequenced, matched, journaled.

Recorded after the fact from times the core takes anyway, so tracing adds
nothing to the sequencer's synchronous section but a list append per traced
command: the span starts at the command's own timestamp (the sequencer's
clock as it sequenced it; matching follows at once in the same section) and
ends when the journal commit of the batch holding it is reported to the
sequencer's listeners. Commands without a journaled ``traceparent`` (tracing
off at the gateway, or a trace not sampled) cost nothing here at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.trace import SpanKind, Tracer

from server.model.sequenced import Sequenced
from server.tracing.propagation import parent_of_journaled

SPAN_NAME = "stx.core sequence"


class CoreSpans:
    """``sequenced`` is the link's trace observer; the instance itself is a
    sequencer listener that closes the spans of each committed batch."""

    def __init__(self, tracer: Tracer, clock: Callable[[], int] = time.time_ns) -> None:
        self._tracer = tracer
        self._clock = clock
        self._open: list[tuple[str, Sequenced]] = []

    def sequenced(self, traceparent: str, applied: Sequenced) -> None:
        self._open.append((traceparent, applied))

    def __call__(self, batch: list[Sequenced]) -> None:
        if not self._open:
            return
        committed = self._clock()
        last = batch[-1].sequence
        waiting: list[tuple[str, Sequenced]] = []
        for traceparent, applied in self._open:
            if applied.sequence > last:
                waiting.append((traceparent, applied))
                continue
            parent = parent_of_journaled(traceparent)
            if parent is None:
                continue  # not one a gateway of ours wrote: no parent to hang it on
            command = applied.command
            span = self._tracer.start_span(
                SPAN_NAME,
                context=parent,
                kind=SpanKind.SERVER,
                start_time=command.timestamp,
                # Few attributes: each costs the core about 1 us to check and
                # store; the gateway's span has the account and the symbol.
                attributes={
                    "stx.sequence": applied.sequence,
                    "stx.command": type(command).__name__,
                    "stx.client_order_id": applied.client_order_id,
                },
            )
            span.end(end_time=max(committed, command.timestamp))
        self._open = waiting
