"""The gateway's spans of order entry: a unary call and the report going
back, or one message of an order stream.

``TracingInterceptor`` is installed only when this process traces
(``server/tracing``): it takes the caller's ``traceparent`` from the
metadata and makes a SERVER span current for the call, from its arrival to
its answer (refusals included). The service calls ``answered`` once the core
has committed its command; the span of the report going back runs from
then to the answer. ``journaled_traceparent`` is what ``origin_of`` puts in
the journal beside the command, so the core's span of it is a child of this
one; outside a traced call it is "" at the cost of one ``ContextVar.get``.
In an OrderStream, each message gets a span of its own (``message_span``),
child of the stream's ``traceparent`` or a root, sampled by the ratio.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from stocktraderx.v1 import orders_pb2

from server.tracing.propagation import (
    context_of,
    metadata_carrier,
    sampled_traceparent,
    traceparent_of,
)

ORDER_SERVICE = orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name
ORDER_STREAM = f"/{ORDER_SERVICE}/OrderStream"
TRACED_METHODS = frozenset(
    f"/{ORDER_SERVICE}/{name}"
    for name in ("PlaceOrder", "CancelOrder", "ReplaceOrder", "MassCancel")
)
SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
"""Statuses that mark a server span as an error (a refusal is an answer)."""
REQUEST_ATTRIBUTES = (
    ("account_id", "stx.account_id"),
    ("client_order_id", "stx.client_order_id"),
    ("client_request_id", "stx.client_request_id"),
    ("order_id", "stx.order_id"),
    ("symbol", "stx.symbol"),
)


class _Call:
    """What the service tells the interceptor about one traced call."""

    __slots__ = ("answered", "sequence")

    def __init__(self) -> None:
        self.answered = 0
        self.sequence = 0


_CALL: ContextVar[_Call | None] = ContextVar("stx_traced_call", default=None)


class _Stream:
    """A traced OrderStream: the tracer and the caller's context, for the
    span of each message."""

    __slots__ = ("parent", "tracer")

    def __init__(self, tracer: Tracer, parent: Context) -> None:
        self.tracer = tracer
        self.parent = parent


_STREAM: ContextVar[_Stream | None] = ContextVar("stx_traced_stream", default=None)


def message_span(commands: int) -> tuple[Span, str] | None:
    """In a traced order stream, a span for one message (its arrival to its
    reports queued, as ``stx_order_ack_seconds{transport="grpc_stream"}``)
    and its ``traceparent`` to journal ("" when not sampled); else None."""
    stream = _STREAM.get()
    if stream is None:
        return None
    span = stream.tracer.start_span(
        "stx.gateway OrderStream message",
        context=stream.parent,
        kind=SpanKind.SERVER,
        attributes={
            "rpc.system": "grpc", "rpc.service": ORDER_SERVICE, "rpc.method": "OrderStream",
            "stx.commands": commands,
        },
    )  # fmt: skip
    return span, traceparent_of(span.get_span_context())


def answered(sequence: int) -> None:
    """The core has answered this call's command (``sequence``; 0 if it refused it)."""
    call = _CALL.get()
    if call is not None:
        call.answered = time.time_ns()
        call.sequence = sequence


def journaled_traceparent() -> str:
    """The traced call's ``traceparent`` if it is sampled, else ""."""
    return sampled_traceparent() if _CALL.get() is not None else ""


def _request_attributes(request: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for field, attribute in REQUEST_ATTRIBUTES:
        value = getattr(request, field, None)
        if value:
            attributes[attribute] = value
    return attributes


def _finish(tracer: Tracer, span: Span, call: _Call, code: grpc.StatusCode | None) -> None:
    status = grpc.StatusCode.OK if code is None else code
    span.set_attribute("rpc.grpc.status_code", status.value[0])
    if status in SERVER_FAULTS:
        span.set_status(Status(StatusCode.ERROR, status.name))
    if call.answered:
        span.set_attribute("stx.sequence", call.sequence)
        report = tracer.start_span(
            "stx.gateway report",
            context=set_span_in_context(span),
            start_time=call.answered,
            attributes={"stx.sequence": call.sequence},
        )
        report.end()


class TracingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            return handler
        parent = context_of(metadata_carrier(handler_call_details.invocation_metadata))
        if method == ORDER_STREAM and handler.stream_stream is not None:
            return self._stream(handler, parent)
        if method not in TRACED_METHODS or handler.unary_unary is None:
            return handler
        behaviour: Any = handler.unary_unary  # a coroutine function under grpc.aio
        name = method.rsplit("/", 1)[1]
        tracer = self._tracer

        async def traced(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            call = _Call()
            attributes = {
                "rpc.system": "grpc", "rpc.service": ORDER_SERVICE, "rpc.method": name,
                **_request_attributes(request),
            }  # fmt: skip
            with tracer.start_as_current_span(
                f"stx.gateway {name}",
                context=parent,
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                token = _CALL.set(call)
                try:
                    return await behaviour(request, context)
                except grpc.aio.AbortError:
                    raise  # an answer with a status, read below
                except Exception as error:
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                    raise
                finally:
                    _CALL.reset(token)
                    _finish(tracer, span, call, context.code())

        wrapped: grpc.RpcMethodHandler[Any, Any] = grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped

    def _stream(
        self, handler: grpc.RpcMethodHandler[Any, Any], parent: Context
    ) -> grpc.RpcMethodHandler[Any, Any]:
        both: Any = handler.stream_stream  # an async generator function under grpc.aio
        tracer = self._tracer

        async def traced(
            requests: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            # The call's own task: the stream's reader task inherits it.
            _STREAM.set(_Stream(tracer, parent))
            async for response in both(requests, context):
                yield response

        wrapped: grpc.RpcMethodHandler[Any, Any] = grpc.stream_stream_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped
