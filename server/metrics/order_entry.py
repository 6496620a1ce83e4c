"""The order-entry series of the gateways and the REST bridge."""

from __future__ import annotations

from prometheus_client import Histogram

from server.metrics.exposition import LATENCY_BUCKETS

ORDER_ACK = Histogram(
    "stx_order_ack_seconds",
    "From an order request's arrival to its acknowledgement, by transport.",
    ["transport"],
    buckets=LATENCY_BUCKETS,
)
UNARY_ACK = ORDER_ACK.labels("grpc_unary")
STREAM_ACK = ORDER_ACK.labels("grpc_stream")
REST_ACK = ORDER_ACK.labels("rest")
