"""The projector's lag behind the journal, read at scrape time."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class ProjectorLag(Collector):
    """``stx_projector_lag_records`` and ``_seconds``, and the store's failures.

    ``committed`` is told of each committed position as the link reports it
    (once per batch); the age of the oldest record not yet in the store is
    the time since the first report of a position beyond the store's.
    """

    def __init__(
        self,
        position: Callable[[], int],
        failures: Callable[[], int],
        backend: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._position = position
        self._failures = failures
        self._backend = backend
        self._clock = clock
        self._reported: deque[tuple[int, float]] = deque()
        """(committed sequence, when it was reported), oldest first."""
        self.committed = 0

    def committed_to(self, sequence: int) -> None:
        if sequence > self.committed:
            self.committed = sequence
            self._reported.append((sequence, self._clock()))
            self._forget_stored()

    def _forget_stored(self) -> None:
        position, reported = self._position(), self._reported
        while reported and reported[0][0] <= position:
            reported.popleft()

    def lag_seconds(self) -> float:
        self._forget_stored()
        if not self._reported:
            return 0.0
        return self._clock() - self._reported[0][1]

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "stx_projector_lag_records",
            "Journal records not yet in the store.",
            value=max(self.committed - self._position(), 0),
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
