"""The HTTP side of the bridge (aiohttp): routes in, gRPC calls out.

Each request is matched against the routes read from the contract, turned
into the RPC's request message (path variables, then the body, then the
query string), and sent over a gRPC channel with the caller's
``Authorization`` header, a request id and the W3C trace context
(``traceparent``: the bridge's own span when it traces, else the caller's
header passed on) as metadata, so the gRPC server's interceptor authorises
it exactly as a gRPC call. gRPC statuses become HTTP
codes through the one table in ``server/errors.py``; the body of an error is
the ``google.rpc.Status`` as JSON, details included. Server-streaming RPCs
answer with newline-delimited JSON, one ``{"result": ...}`` per message.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import grpc
import orjson
import swagger_ui_bundle
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger
from google.protobuf import json_format, message_factory
from google.protobuf.message import Message
from google.rpc import status_pb2
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer

from server.errors import http_code, malformed, not_found, status_of_call, too_large
from server.gateways.rest import openapi
from server.gateways.rest.jsonmap import MAX_DEPTH, JsonError, coerce, parse, to_json, too_deep
from server.gateways.rest.routes import Route, Router, routes
from server.gateways.rest.websocket import websocket_handler
from server.journal.codec import FORWARDED_FOR
from server.metrics.order_entry import REST_ACK
from server.tracing.propagation import HEADERS as TRACE_HEADERS
from server.tracing.propagation import context_of, injected

MAX_BODY = 1024 * 1024
SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StockTraderX API</title>
<link rel="stylesheet" href="/swagger-ui/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger-ui/assets/swagger-ui-bundle.js"></script>
<script src="/swagger-ui/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"});
</script></body></html>
"""
TIMEOUT_SECONDS = 30.0


def _printable(value: str) -> bool:
    """Fit for gRPC metadata: printable ASCII."""
    return value.isascii() and value.isprintable()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def _status_json(status: status_pb2.Status) -> Any:
    body = json_format.MessageToDict(status, preserving_proto_field_name=True)
    body.setdefault("code", 0)
    body.setdefault("message", "")
    body.setdefault("details", [])
    return body


def status_response(status: status_pb2.Status) -> web.Response:
    """An error answer: the status as JSON, with its HTTP code."""
    return _json(_status_json(status), http_code(status))


def error_response(error: grpc.aio.AioRpcError) -> web.Response:
    return status_response(status_of_call(error))


def cors(origins: frozenset[str]) -> Any:
    """CORS for the web frontend's origins: preflights answered here, and the
    allow headers on every answer to an allowed origin (bearer tokens, no cookies)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        origin = request.headers.get("origin", "")
        allowed = origin in origins
        if request.method == "OPTIONS" and allowed:
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        if allowed:
            response.headers["access-control-allow-origin"] = origin
            response.headers["vary"] = "origin"
            response.headers["access-control-allow-methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
            response.headers["access-control-allow-headers"] = (
                "authorization, content-type, x-request-id, traceparent, tracestate"
            )
            response.headers["access-control-expose-headers"] = "x-request-id"
        return response

    return middleware


DEFAULT_ORIGINS = frozenset({"http://localhost:3000"})
ORDER_ENTRY = frozenset({"PlaceOrder", "CancelOrder", "ReplaceOrder", "MassCancel"})
"""The RPCs whose answers ``stx_order_ack_seconds{transport="rest"}`` times."""


class QuietMalformed(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's request-handler logger, except for HTTP it could not parse.

    aiohttp answers a malformed request (a line over 8190 bytes, a bad
    header) with 400 itself, then logs "Error handling request" at ERROR
    with a traceback: one per request, from anyone. Those become one debug
    line; every other exception (a bug in a handler) is logged as before.
    """

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, HttpProcessingError):
            self.debug("%s: %s", str(msg) % args, error.message)
            return
        super().exception(msg, *args, **kwargs)


class _Endpoint:
    """What serving one route takes, worked out once at start-up rather than
    per request: the request class and the gRPC multicallable."""

    def __init__(self, route: Route, channel: grpc.aio.Channel) -> None:
        self.route = route
        self.input: type[Message] = message_factory.GetMessageClass(route.method.input_type)
        output = message_factory.GetMessageClass(route.method.output_type)
        serializer, deserializer = self.input.SerializeToString, output.FromString
        self.call = channel.unary_unary(route.grpc_path, serializer, deserializer)
        self.stream = channel.unary_stream(route.grpc_path, serializer, deserializer)
        self.order_entry = route.method.name in ORDER_ENTRY
        """Whether its answers are order acknowledgements (``stx_order_ack_seconds``)."""


class RestBridge:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        table: list[Route] | None = None,
        origins: frozenset[str] = DEFAULT_ORIGINS,
        tracer: Tracer | None = None,
    ) -> None:
        self._channel = channel
        self._tracer = tracer
        self._table = routes() if table is None else table
        self._router = Router(self._table)
        self._endpoints = {
            (route.http_method, route.template): _Endpoint(route, channel) for route in self._table
        }
        self.app = web.Application(
            client_max_size=MAX_BODY,
            middlewares=[cors(origins)],
            handler_args={"logger": QuietMalformed(server_logger)},
        )
        self.app.router.add_get("/", self._home)
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/openapi.json", self._openapi)
        self.app.router.add_get("/ws", self._websocket)
        self.app.router.add_get("/swagger-ui", self._swagger_index)
        self.app.router.add_get("/swagger-ui/", self._swagger_index)
        self.app.router.add_static("/swagger-ui/assets", swagger_ui_bundle.swagger_ui_path)
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self._document: bytes | None = None

    async def _home(self, request: web.Request) -> web.Response:
        """A browser pointed at the bridge lands on the API's own pages."""
        raise web.HTTPFound("/swagger-ui")

    async def _health(self, request: web.Request) -> web.Response:
        return _json({"status": "SERVING"})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        return await websocket_handler(request, self._channel)

    async def _openapi(self, request: web.Request) -> web.Response:
        if self._document is None:
            self._document = orjson.dumps(openapi.document())
        return web.Response(body=self._document, content_type="application/json")

    async def _swagger_index(self, request: web.Request) -> web.Response:
        # The UI's assets come from this server (swagger-ui-bundle), not a CDN:
        # the machine that runs the exchange may be offline.
        return web.Response(text=SWAGGER_PAGE, content_type="text/html")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Answer a route; when this process traces, in a SERVER span whose
        parent is the caller's ``traceparent`` header, if any."""
        if self._tracer is None:
            return await self._answer(request)
        with self._tracer.start_as_current_span(
            f"stx.rest {request.method}",
            context=context_of(request.headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.path},
        ) as span:
            response = await self._answer(request)
            span.set_attribute("http.response.status_code", response.status)
            return response

    def _trace_headers(self, headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """What tells the gateway which trace a call belongs to: this
        process's span when it traces, else the caller's own headers passed
        on (the gateway may trace when the bridge does not)."""
        if self._tracer is not None:
            return tuple(injected())
        return tuple(
            (name, value)
            for name in TRACE_HEADERS
            if (value := headers.get(name)) and len(value) <= 512 and _printable(value)
        )

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        received = time.perf_counter()
        found = self._router.match(request.method, request.path)
        if found is None:
            return status_response(not_found(f"no route {request.method} {request.path}"))
        route, variables = found
        if self._tracer is not None:
            span = trace.get_current_span()
            span.update_name(f"stx.rest {request.method} {route.template}")
            span.set_attribute("http.route", route.template)
        endpoint = self._endpoints[route.http_method, route.template]
        try:
            message = await self._request_message(request, endpoint, variables)
        except JsonError as error:
            return status_response(malformed(str(error)))
        except web.HTTPRequestEntityTooLarge:
            return status_response(too_large(f"the body exceeds {MAX_BODY} bytes"))
        headers = request.headers
        # A correlation id, not a secret: uuid4 reads the OS's entropy on every call.
        request_id = headers.get("x-request-id") or f"{random.getrandbits(128):032x}"
        authorization = headers.get("authorization")
        metadata: tuple[tuple[str, str], ...] = (
            ("x-request-id", request_id),
            (FORWARDED_FOR, request.remote or ""),
            *self._trace_headers(headers),
        )
        if authorization:
            metadata += (("authorization", authorization),)
        if route.method.server_streaming:
            return await self._stream(request, endpoint, message, metadata)
        try:
            response = await endpoint.call(message, metadata=metadata, timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as error:
            if endpoint.order_entry:  # a refusal is an acknowledgement too
                REST_ACK.observe(time.perf_counter() - received)
            return error_response(error)
        if endpoint.order_entry:
            REST_ACK.observe(time.perf_counter() - received)
        body = to_json(response)
        if route.response_body:
            body = body.get(route.response_body, {})
        return web.Response(
            body=orjson.dumps(body),
            headers={"content-type": "application/json", "x-request-id": request_id},
        )

    async def _request_message(
        self, request: web.Request, endpoint: _Endpoint, variables: dict[str, str]
    ) -> Message:
        route = endpoint.route
        descriptor = route.method.input_type
        data: dict[str, Any] = {}
        if route.body:
            raw = await request.read()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError as error:
                raise JsonError(f"the body is not JSON: {error}") from None
            if too_deep(body):
                raise JsonError(f"the body nests arrays and objects deeper than {MAX_DEPTH}")
            if route.body == "*":
                if not isinstance(body, dict):
                    raise JsonError("the body must be a JSON object")
                data = body
            else:
                data[route.body] = body
        if route.body != "*" and request.query_string:
            query = request.query
            for name in set(query.keys()):
                values = query.getall(name)
                field = descriptor.fields_by_name.get(name)
                if field is None:
                    raise JsonError(f"unknown query parameter {name!r}")
                if field.is_repeated:
                    data[name] = [coerce(descriptor, name, value) for value in values]
                elif len(values) > 1:
                    raise JsonError(f"query parameter {name!r} given more than once")
                else:
                    data[name] = coerce(descriptor, name, values[0])
        for name, value in variables.items():
            data[name] = coerce(descriptor, name, value)
        return parse(data, endpoint.input)

    async def _stream(
        self,
        request: web.Request,
        endpoint: _Endpoint,
        message: Message,
        metadata: tuple[tuple[str, str], ...],
    ) -> web.StreamResponse:
        call = endpoint.stream(message, metadata=metadata)
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as error:
            return error_response(error)
        response = web.StreamResponse(headers={"content-type": "application/x-ndjson"})
        await response.prepare(request)
        try:
            item: Any = first
            while item is not grpc.aio.EOF:  # type: ignore[attr-defined]
                await response.write(orjson.dumps({"result": to_json(item)}) + b"\n")
                item = await call.read()
        except grpc.aio.AioRpcError as failure:
            status = _status_json(status_of_call(failure))
            await response.write(orjson.dumps({"error": status}) + b"\n")
        except ConnectionResetError:
            call.cancel()  # the browser went away
        await response.write_eof()
        return response
