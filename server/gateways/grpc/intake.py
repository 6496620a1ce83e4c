"""The gRPC server interceptor that refuses malformed and rule-breaking requests.

Two things happen here for every RPC, before the service sees the request:

- Bytes that do not parse as the request message are refused with
  INVALID_ARGUMENT. grpc's own deserialisation raised ``DecodeError`` into
  its servicer wrapper, which logged a traceback per request (from anyone,
  signed in or not) and answered UNKNOWN. The deserialiser is wrapped so a
  parse failure becomes a marker the behaviour turns into a status, with
  one debug-level log line.
- A request that breaks an input rule (``inputs.py``) is refused with
  INVALID_ARGUMENT and a ``google.rpc.BadRequest`` naming the field. The
  messages of a client-streaming RPC (the order stream) are not checked
  here: the stream answers each bad command with a report and stays open.

It is the innermost interceptor: the access rules are enforced first, so a
caller without credentials learns nothing about the input rules' verdict.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from server.errors import abort, invalid_argument, malformed
from server.gateways.grpc.calls import Context
from server.gateways.grpc.inputs import violation

_log = logging.getLogger(__name__)


class _Malformed:
    """Stands for a request whose bytes did not parse."""


MALFORMED = _Malformed()
_WORDING = "the request is not a valid protobuf message of the method's request type"


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def parse(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except DecodeError:
            return MALFORMED

    return parse


async def _refuse_malformed(context: Context) -> None:
    _log.debug("malformed request bytes from %s", context.peer())
    await abort(context, malformed(_WORDING))


async def _check(request: Any, context: Context) -> None:
    if request is MALFORMED:
        await _refuse_malformed(context)
    found = violation(request)
    if found is not None:
        await abort(context, invalid_argument(found.field, found.description))


class _Requests:
    """A client stream's requests up to the first malformed one."""

    def __init__(self, requests: AsyncIterator[Any]) -> None:
        self._requests = requests
        self.malformed = False

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for request in self._requests:
            if request is MALFORMED:
                self.malformed = True
                return
            yield request


def _checked(handler: Any) -> Any:
    # grpc.aio behaviours are coroutine functions and async generators;
    # grpc's type stubs describe the synchronous API.
    options = {
        "request_deserializer": _lenient(handler.request_deserializer),
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        unary = handler.unary_unary

        async def unary_unary(request: Any, context: Context) -> Any:
            await _check(request, context)
            return await unary(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **options)
    if handler.unary_stream is not None:
        produce = handler.unary_stream

        async def unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
            await _check(request, context)
            async for response in produce(request, context):
                yield response

        return grpc.unary_stream_rpc_method_handler(unary_stream, **options)
    if handler.stream_stream is not None:
        both = handler.stream_stream

        async def stream_stream(requests: Any, context: Context) -> AsyncIterator[Any]:
            incoming = _Requests(requests)
            async for response in both(incoming.__aiter__(), context):
                yield response
            if incoming.malformed:
                await _refuse_malformed(context)

        return grpc.stream_stream_rpc_method_handler(stream_stream, **options)
    gather = handler.stream_unary

    async def stream_unary(requests: Any, context: Context) -> Any:
        incoming = _Requests(requests)
        response = await gather(incoming.__aiter__(), context)
        if incoming.malformed:
            await _refuse_malformed(context)
        return response

    return grpc.stream_unary_rpc_method_handler(stream_unary, **options)


class InputInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        checked: grpc.RpcMethodHandler[Any, Any] = _checked(handler)
        return checked
