"""``OrderService.GetOrderEntryStatistics``: the answering gateway's order
entry per interval, from its ``EntryHistory`` (``server/metrics/entry_history.py``)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import orders_pb2 as pb

from server.metrics.entry_history import EntryHistory

_NANOS = 1_000_000_000


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(round(seconds * _NANOS))
    return stamp


def _micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def entry_statistics(
    history: EntryHistory, request: pb.GetOrderEntryStatisticsRequest
) -> pb.GetOrderEntryStatisticsResponse:
    after = request.start_time.ToNanoseconds() / _NANOS if request.HasField("start_time") else None
    return pb.GetOrderEntryStatisticsResponse(
        intervals=[
            pb.OrderEntryInterval(
                start_time=_timestamp(entry.start),
                end_time=_timestamp(entry.end),
                acknowledged_count=entry.count,
                p50_latency_micros=_micros(entry.p50),
                p99_latency_micros=_micros(entry.p99),
            )
            for entry in history.since(after)
        ],
        interval_seconds=history.interval_seconds,
        kept_intervals=history.kept,
    )
