"""The order-entry history of GetOrderEntryStatistics: intervals read from
the ack histogram's growth, quantiles as PromQL's histogram_quantile, a
bounded ring, and only the gateway's own transports."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Histogram
from stocktraderx.v1 import orders_pb2

from server.gateways.grpc.entry_statistics import entry_statistics
from server.metrics.entry_history import EntryHistory, quantile
from server.metrics.exposition import LATENCY_BUCKETS


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _histogram() -> Histogram:
    return Histogram(
        "ack_seconds", "test", ["transport"], buckets=LATENCY_BUCKETS,
        registry=CollectorRegistry(),
    )  # fmt: skip


def test_quantiles_interpolate_within_the_bucket_like_histogram_quantile() -> None:
    bounds = [0.001, 0.01, math.inf]
    # 10 in (0, 1 ms], 10 in (1 ms, 10 ms]: the median is the first bucket's top,
    # the 75th percentile half-way through the second.
    assert quantile(0.5, bounds, [10, 20, 20]) == pytest.approx(0.001)
    assert quantile(0.75, bounds, [10, 20, 20]) == pytest.approx(0.0055)
    assert quantile(0.5, bounds, [0, 0, 0]) == 0.0
    # Above the last finite bound: that bound.
    assert quantile(0.99, bounds, [0, 0, 5]) == 0.01


def test_intervals_from_what_the_histogram_grew_by() -> None:
    histogram, clock = _histogram(), _Clock()
    history = EntryHistory(histogram, interval_seconds=5, kept=3, clock=clock)
    unary, stream, rest = (histogram.labels(name) for name in ("grpc_unary", "grpc_stream", "rest"))
    for _ in range(7):
        unary.observe(0.0002)  # before the first reading: in no interval
    history.sample()
    assert history.since() == []
    for _ in range(98):
        unary.observe(0.0003)
    stream.observe(0.002)
    stream.observe(0.003)
    for _ in range(50):
        rest.observe(0.5)  # the REST bridge's own series: not the gateway's
    clock.now += 5
    history.sample()
    clock.now += 5
    history.sample()  # a quiet interval
    (busy, quiet) = history.since()
    assert (busy.start, busy.end, busy.count) == (1_000.0, 1_005.0, 100)
    assert 0.00025 < busy.p50 <= 0.0005
    assert 0.001 < busy.p99 <= 0.0025
    assert (quiet.count, quiet.p50, quiet.p99) == (0, 0.0, 0.0)
    assert history.since(1_005.0) == [quiet]

    # Bounded: the oldest go.
    for _ in range(3):
        clock.now += 5
        history.sample()
    assert [entry.start for entry in history.since()] == [1_010.0, 1_015.0, 1_020.0]


def test_the_response_in_microseconds_oldest_first_from_start_time() -> None:
    histogram, clock = _histogram(), _Clock()
    history = EntryHistory(histogram, interval_seconds=5, kept=10, clock=clock)
    history.sample()
    for seconds in (0.0001, 0.00012):
        histogram.labels("grpc_unary").observe(seconds)
        clock.now += 5
        history.sample()
    answer = entry_statistics(history, orders_pb2.GetOrderEntryStatisticsRequest())
    assert (answer.interval_seconds, answer.kept_intervals) == (5, 10)
    assert [entry.end_time.seconds for entry in answer.intervals] == [1_005, 1_010]
    first = answer.intervals[0]
    assert (first.start_time.seconds, first.acknowledged_count) == (1_000, 1)
    assert 50 < first.p50_latency_micros <= 100
    request = orders_pb2.GetOrderEntryStatisticsRequest()
    request.start_time.FromSeconds(1_005)
    later = entry_statistics(history, request)
    assert [entry.end_time.seconds for entry in later.intervals] == [1_010]
