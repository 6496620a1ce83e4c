"""The projector's lag behind the journal, read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.metrics.lag import JournalLag


class ProjectorLag(JournalLag, Collector):
    """``stx_projector_lag_records`` and ``_seconds``, and the store's failures."""

    def __init__(
        self,
        position: Callable[[], int],
        failures: Callable[[], int],
        backend: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(position, clock)
        self._failures = failures
        self._backend = backend

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "stx_projector_lag_records",
            "Journal records not yet in the store.",
            value=self.lag_records(),
        )
        yield GaugeMetricFamily(
            "stx_projector_lag_seconds",
            "Age of the oldest journal record not yet in the store.",
            value=self.lag_seconds(),
        )
        errors = CounterMetricFamily(
            "stx_store_errors", "Store failures, by backend.", labels=["backend"]
        )
        errors.add_metric([self._backend], self._failures())
        yield errors
