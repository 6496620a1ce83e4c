"""The order-entry series of the gateways and the REST bridge."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

from matching import RejectReason
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

ORDER_STREAMS = Gauge("stx_order_streams", "Open OrderStream calls.")
STREAM_BACKLOG = Gauge(
    "stx_stream_backlog_reports", "Execution reports queued unsent, summed over the streams."
)


class Backlogged(Protocol):
    backlog: int


def watch_streams(sessions: Collection[Backlogged]) -> None:
    """Read both gauges from ``sessions`` (the gateway's one stream handler's)
    when Prometheus scrapes: nothing is recorded as streams open or send."""
    ORDER_STREAMS.set_function(lambda: len(sessions))
    STREAM_BACKLOG.set_function(lambda: sum(session.backlog for session in list(sessions)))


REJECTS = Counter(
    "stx_rejects",
    "Refusals before the sequencer, by reason (RejectReason name); the engine's "
    "own are counted by the projector.",
    ["reason"],
)
SUBSCRIBER_DROPS = Counter(
    "stx_feed_subscriber_drops", "Market data streams ended as too slow to keep up."
)


def reason_name(reason: int) -> str:
    """The RejectReason's name; ``UNSPECIFIED`` for 0 (no reason fits), else the number."""
    if reason == 0:
        return "UNSPECIFIED"
    try:
        return RejectReason(reason).name
    except ValueError:
        return str(reason)
