"""The analytics store's position and lag behind the journal, read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.metrics.lag import JournalLag


class AnalyticsLag(JournalLag, Collector):
    """``stx_analytics_position``, ``stx_analytics_lag_records`` and ``_seconds``,
    and ``stx_analytics_following`` (0 once following has stopped on a
    failure: the lag then only grows, and this says why)."""

    def __init__(
        self,
        position: Callable[[], int],
        following: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(position, clock)
        self._following = following

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "stx_analytics_position",
            "The last journal sequence whose facts the analytics store holds.",
            value=self._position(),
        )
        yield GaugeMetricFamily(
            "stx_analytics_lag_records",
            "Journal records not yet in the analytics store.",
            value=self.lag_records(),
        )
        yield GaugeMetricFamily(
            "stx_analytics_lag_seconds",
            "Age of the oldest journal record not yet in the analytics store.",
            value=self.lag_seconds(),
        )
        yield GaugeMetricFamily(
            "stx_analytics_following",
            "1 while the analytics store follows the journal, 0 once it stopped on a failure.",
            value=1 if self._following() else 0,
        )
