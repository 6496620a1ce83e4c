"""The W3C trace context (``traceparent``, ``tracestate``) in and out of
gRPC metadata, HTTP headers and the journal, with the standard propagator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
HEADERS = (TRACEPARENT, TRACESTATE)
PROPAGATOR = TraceContextTextMapPropagator()
SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def context_of(carrier: Mapping[str, str]) -> Context:
    """The remote parent a carrier names (an empty context if none or malformed)."""
    return PROPAGATOR.extract(carrier)


def metadata_carrier(metadata: Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """The trace headers of gRPC invocation metadata (keys arrive lower case)."""
    return {
        key: value for key, value in metadata or () if key in HEADERS and isinstance(value, str)
    }


def injected(context: Context | None = None) -> list[tuple[str, str]]:
    """The current span's (or ``context``'s) trace headers, as metadata pairs."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context)
    return list(carrier.items())


def sampled_traceparent() -> str:
    """The current span's ``traceparent`` if it is sampled, else "": what a
    gateway journals with a command, so the core records a span only for
    the traces a collector keeps."""
    return traceparent_of(trace.get_current_span().get_span_context())


def traceparent_of(span_context: SpanContext) -> str:
    """A span's ``traceparent`` if it is sampled, else ""."""
    if not (span_context.is_valid and span_context.trace_flags.sampled):
        return ""
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-01"


def parent_of_journaled(traceparent: str) -> Context | None:
    """The remote parent a journaled ``traceparent`` names. It is one a
    gateway wrote (``traceparent_of``: version 00, sampled), so it is
    sliced rather than matched by the propagator's regular expression (a
    fifth of a core span's cost); None if it is not of that form."""
    if len(traceparent) != 55 or not traceparent.startswith("00-") or traceparent[-3:] != "-01":
        return None
    try:
        trace_id, span_id = int(traceparent[3:35], 16), int(traceparent[36:52], 16)
    except ValueError:
        return None
    if not (trace_id and span_id) or traceparent[35] != "-":
        return None
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=SAMPLED)
    return trace.set_span_in_context(NonRecordingSpan(parent))
