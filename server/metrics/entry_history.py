"""Order entry per interval, kept by each gateway process for
``OrderService.GetOrderEntryStatistics`` (the web dashboards' latency and
throughput charts).

It costs the order path nothing: every ``interval_seconds`` a task reads the
cumulative buckets of ``stx_order_ack_seconds`` (the histogram the order
path observes anyway for ``/metrics``) and keeps what grew since the last
reading: the count and the p50 and p99, interpolated in the buckets as
PromQL's ``histogram_quantile`` does. The history is this process's alone
(each gateway process answers for itself), in memory, bounded to ``kept``
intervals, and starts empty with the process.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import Histogram

from server.metrics.order_entry import ORDER_ACK

INTERVAL_SECONDS = 5
KEPT = 360
"""Half an hour of 5 s intervals: a few kilobytes."""
GATEWAY_TRANSPORTS = frozenset({"grpc_unary", "grpc_stream"})
"""What a gateway acknowledges itself (``rest`` is the REST bridge's own
series, of another process under ``stx serve``: its orders reach the
gateway as PlaceOrder calls and are counted there)."""


@dataclass(frozen=True, slots=True)
class EntryInterval:
    start: float
    """Seconds since the epoch."""
    end: float
    count: int
    p50: float
    """Seconds; 0 when ``count`` is 0."""
    p99: float


def quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """The ``q`` quantile of a histogram given as bucket upper bounds (the
    last ``+Inf``) and cumulative counts, interpolated linearly within its
    bucket (0 is the first bucket's lower bound); above the last finite
    bound, that bound. 0 for an empty histogram."""
    total = cumulative[-1]
    if total <= 0:
        return 0.0
    rank = q * total
    index = next(at for at, count in enumerate(cumulative) if count >= rank)
    count = cumulative[index]
    upper = bounds[index]
    if math.isinf(upper):
        return bounds[index - 1] if index > 0 else 0.0
    lower = bounds[index - 1] if index > 0 else 0.0
    below = cumulative[index - 1] if index > 0 else 0.0
    inside = count - below
    return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)


def buckets(histogram: Histogram, transports: Iterable[str]) -> tuple[list[float], list[float]]:
    """The histogram's bucket bounds and cumulative counts now, summed over
    the children labelled with one of ``transports``."""
    wanted = frozenset(transports)
    totals: dict[float, float] = {}
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("transport") in wanted:
                bound = float(sample.labels["le"])
                totals[bound] = totals.get(bound, 0.0) + sample.value
    bounds = sorted(totals)
    return bounds, [totals[bound] for bound in bounds]


class EntryHistory:
    def __init__(
        self,
        histogram: Histogram = ORDER_ACK,
        transports: Iterable[str] = GATEWAY_TRANSPORTS,
        interval_seconds: int = INTERVAL_SECONDS,
        kept: int = KEPT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._histogram = histogram
        self._transports = frozenset(transports)
        self.interval_seconds = interval_seconds
        self.kept = kept
        self._clock = clock
        self._intervals: deque[EntryInterval] = deque(maxlen=kept)
        self._last: tuple[float, list[float]] | None = None

    def sample(self) -> None:
        """Close the interval since the last reading (the first reading only
        starts one)."""
        now = self._clock()
        bounds, cumulative = buckets(self._histogram, self._transports)
        if self._last is not None and bounds:
            start, before = self._last
            # A series first observed in the interval had nothing before it.
            before = before if len(before) == len(cumulative) else [0.0] * len(cumulative)
            grown = [after - earlier for after, earlier in zip(cumulative, before, strict=True)]
            count = int(grown[-1])
            self._intervals.append(
                EntryInterval(
                    start, now, count, quantile(0.5, bounds, grown), quantile(0.99, bounds, grown)
                )
            )
        self._last = (now, cumulative)

    def since(self, after: float | None = None) -> list[EntryInterval]:
        """The kept intervals that ended after ``after`` (all when None), oldest first."""
        return [entry for entry in self._intervals if after is None or entry.end > after]

    async def run(self) -> None:
        """Sample every ``interval_seconds`` until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(self.interval_seconds)
