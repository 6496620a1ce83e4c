"""The trace context across two hops, with real sockets: the core's link
hands the traced commands of a COMMANDS frame to its observer, and the REST
bridge passes a caller's ``traceparent`` on to the gRPC call it makes."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from aiohttp import web
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stocktraderx.v1 import orders_pb2

from matching import NewOrder, OrderType, Side
from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.gateways.rest.bridge import RestBridge
from server.journal import Durability
from server.journal.codec import Origin, encode
from server.link.listener import CoreLinkServer
from server.tracing.core_spans import SPAN_NAME, CoreSpans
from server.tracing.provider import Tracing
from server.tracing.settings import TracingSettings

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class _Gateway:
    """A gateway connection's stand-in: RESULT frames are kept, not sent."""

    def __init__(self) -> None:
        self.awaiting: deque[tuple[int, bytes]] = deque()
        self.sent: list[bytes] = []

    def send(self, frame: bytes) -> None:
        self.sent.append(frame)


def test_the_link_hands_only_traced_commands_to_the_cores_spans(tmp_path: Path) -> None:
    async def scenario() -> InMemorySpanExporter:
        exporter = InMemorySpanExporter()
        tracing = Tracing(TracingSettings("http://collector:4317"), "core", exporter)
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        await core.start()
        link = CoreLinkServer(core, tmp_path / "core.sock")
        spans = CoreSpans(tracing.tracer("stx.core"))
        link.trace_observer = spans.sequenced
        core.sequencer.add_listener(spans)
        symbol = instruments()[0].symbol
        price = instruments()[0].reference_price
        order = NewOrder(1, "A1", symbol, Side.BUY, OrderType.LIMIT, 10, price)
        origin = Origin("u1", "10.0.0.1", "grpc")
        payloads = [
            encode(order, "plain", origin),
            encode(order, "traced", origin._replace(traceparent=TRACEPARENT)),
            encode(order, "no-origin"),
        ]
        try:
            link.submit(_Gateway(), 1, payloads)  # type: ignore[arg-type]
            core.sequencer.commit_now()
            await core.sequencer.durable()
        finally:
            await core.close(final_snapshot=False)
            tracing.shutdown()
        return exporter

    (span,) = asyncio.run(scenario()).get_finished_spans()
    assert span.name == SPAN_NAME
    assert span.attributes is not None
    assert span.attributes["stx.client_order_id"] == "traced"
    assert span.parent is not None
    assert span.parent.span_id == 0x00F067AA0BA902B7


def test_a_bridge_that_does_not_trace_passes_the_callers_trace_headers_on() -> None:
    """The gateway may trace when the bridge does not: the caller's
    ``traceparent`` and ``tracestate`` reach it as metadata; a header unfit
    for gRPC metadata is left out."""

    async def scenario() -> list[dict[str, str]]:
        seen: list[dict[str, str]] = []

        async def place(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            seen.append(dict(context.invocation_metadata() or ()))
            return orders_pb2.PlaceOrderResponse()

        server = grpc.aio.server()
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "stocktraderx.v1.OrderService",
                    {
                        "PlaceOrder": grpc.unary_unary_rpc_method_handler(
                            place,
                            request_deserializer=orders_pb2.PlaceOrderRequest.FromString,
                            response_serializer=orders_pb2.PlaceOrderResponse.SerializeToString,
                        )
                    },
                )
            ]
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        runner = web.AppRunner(RestBridge(channel).app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        order = {"account_id": "A1", "client_order_id": "c1", "symbol": "AAPL"}
        try:
            async with aiohttp.ClientSession() as http:
                for headers in (
                    {"traceparent": TRACEPARENT, "tracestate": "vendor=1"},
                    {"traceparent": "00-" + "\u00e9" * 10},
                ):
                    async with http.post(f"{base}/orders", json=order, headers=headers) as answer:
                        assert answer.status == 200, await answer.text()
        finally:
            await runner.cleanup()
            await channel.close(None)
            await server.stop(None)
        return seen

    passed, unfit = asyncio.run(scenario())
    assert (passed["traceparent"], passed["tracestate"]) == (TRACEPARENT, "vendor=1")
    assert "traceparent" not in unfit
