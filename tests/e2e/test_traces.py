"""One order's trace crosses the processes of a real ``stx serve``: its
spans reach a real OTLP/gRPC receiver started here, from the gateway (and
the REST bridge) and from the core, under one trace id with each span's
parent the one before it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

from tests.e2e.serve import admin_token, channel, free_port, prepare_accounts, start_server

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
REST_TRACE = "0af7651916cd43dd8448eb211c80319c"
REST_CALLER_SPAN = "b7ad6b7169203331"
STREAM_TRACE = "5b8aa5a2d2c872e8321cf37308d69df2"
STREAM_CALLER_SPAN = "051581bf3cb55c13"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, object]


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()

    def Export(  # noqa: N802 - the OTLP service's name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        received: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    item.value.string_value
                    for item in resource_spans.resource.attributes
                    if item.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes: dict[str, object] = {
                        item.key: getattr(item.value, item.value.WhichOneof("value") or "")
                        for item in span.attributes
                    }
                    received.append(
                        ReceivedSpan(
                            service,
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            attributes,
                        )
                    )
        with self._lock:
            self.spans.extend(received)
        return trace_service_pb2.ExportTraceServiceResponse()

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [span for span in self.spans if span.trace_id == trace_id]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    collected = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collected, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield collected, port
    finally:
        server.stop(None)


def _order(account: str, client_order_id: str) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id=client_order_id, symbol="AAPL",
        side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
        time_in_force=common_pb2.TIME_IN_FORCE_GTC, quantity=100, price=1_890_500,
    )  # fmt: skip


def _spans(receiver: Receiver, trace_id: str, names: set[str]) -> list[ReceivedSpan]:
    """The trace's spans once every one of ``names`` has arrived."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        spans = receiver.of_trace(trace_id)
        if names <= {span.name for span in spans}:
            return spans
        time.sleep(0.2)
    raise AssertionError(f"spans of {trace_id}: {receiver.of_trace(trace_id)}")


def _one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    (found,) = [span for span in spans if span.name == name]
    return found


def test_an_order_over_grpc_and_one_over_rest_are_traced_through_the_core(
    tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    collected, otlp_port = receiver
    port, rest_port = free_port(), free_port()
    start_server(
        tmp_path / "data", port, tls=False, rest_port=rest_port,
        settings={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "STX_LOG_FORMAT": "json",
        },
    )  # fmt: skip
    token = admin_token(port)
    prepare_accounts(port, token, "TRACED")

    with channel(port) as grpc_channel:
        placed = orders_pb2_grpc.OrderServiceStub(grpc_channel).PlaceOrder(
            _order("TRACED", "over-grpc"),
            metadata=(
                ("authorization", f"Bearer {token}"),
                ("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),
            ),
            timeout=10,
        )
        # One message of an order stream whose call carries a traceparent.
        message = orders_pb2.OrderStreamRequest(
            commands=[orders_pb2.OrderCommand(place=_order("TRACED", "over-stream"))]
        )
        answers = list(
            orders_pb2_grpc.OrderServiceStub(grpc_channel).OrderStream(
                iter([message]),
                metadata=(
                    ("authorization", f"Bearer {token}"),
                    ("traceparent", f"00-{STREAM_TRACE}-{STREAM_CALLER_SPAN}-01"),
                ),
                timeout=10,
            )
        )
    assert placed.order.client_order_id == "over-grpc"
    assert any(answer.reports for answer in answers)

    order = {
        "account_id": "TRACED", "client_order_id": "over-rest", "symbol": "AAPL",
        "side": "SIDE_BUY", "order_type": "ORDER_TYPE_LIMIT",
        "time_in_force": "TIME_IN_FORCE_GTC", "quantity": "100", "price": "189.05",
    }  # fmt: skip
    body = json.dumps(order).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{rest_port}/orders",
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "traceparent": f"00-{REST_TRACE}-{REST_CALLER_SPAN}-01",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200

    # Over gRPC: the caller -> the gateway's call -> the core's sequencing,
    # and the report going back, a child of the call.
    spans = _spans(
        collected,
        CALLER_TRACE,
        {"stx.gateway PlaceOrder", "stx.core sequence", "stx.gateway report"},
    )
    call = _one(spans, "stx.gateway PlaceOrder")
    core = _one(spans, "stx.core sequence")
    report = _one(spans, "stx.gateway report")
    assert (call.service, call.parent_id) == ("stx-gateway", CALLER_SPAN)
    assert (core.service, core.parent_id) == ("stx-core", call.span_id)
    assert (report.service, report.parent_id) == ("stx-gateway", call.span_id)
    assert core.attributes["stx.client_order_id"] == "over-grpc"
    assert core.attributes["stx.sequence"] == call.attributes["stx.sequence"]
    assert call.attributes["rpc.grpc.status_code"] == 0

    # Over REST: the caller -> the bridge -> the gateway's call -> the core.
    spans = _spans(
        collected,
        REST_TRACE,
        {"stx.rest POST /orders", "stx.gateway PlaceOrder", "stx.core sequence"},
    )
    bridge = _one(spans, "stx.rest POST /orders")
    call = _one(spans, "stx.gateway PlaceOrder")
    core = _one(spans, "stx.core sequence")
    assert (bridge.service, bridge.parent_id) == ("stx-rest", REST_CALLER_SPAN)
    assert (call.service, call.parent_id) == ("stx-gateway", bridge.span_id)
    assert (core.service, core.parent_id) == ("stx-core", call.span_id)
    assert core.attributes["stx.client_order_id"] == "over-rest"
    assert bridge.attributes["http.response.status_code"] == 200

    # Over the order stream: the caller -> the message's span -> the core.
    spans = _spans(
        collected, STREAM_TRACE, {"stx.gateway OrderStream message", "stx.core sequence"}
    )
    received = _one(spans, "stx.gateway OrderStream message")
    core = _one(spans, "stx.core sequence")
    assert (received.service, received.parent_id) == ("stx-gateway", STREAM_CALLER_SPAN)
    assert (core.service, core.parent_id) == ("stx-core", received.span_id)
    assert core.attributes["stx.client_order_id"] == "over-stream"
