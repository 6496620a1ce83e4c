"""The relay's position and lag behind the journal, read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.metrics.lag import JournalLag


class RelayLag(JournalLag, Collector):
    """``stx_relay_position``, ``stx_relay_lag_records`` and ``_seconds``,
    ``stx_relay_records`` (appended by this process), ``stx_relay_errors``
    (failed appends, each retried) and ``stx_relay_following`` (0 once the
    relay stopped on a failure it cannot retry: a gap, another history)."""

    def __init__(
        self,
        position: Callable[[], int],
        sent: Callable[[], int],
        failures: Callable[[], int],
        following: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(position, clock)
        self._sent = sent
        self._failures = failures
        self._following = following

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "stx_relay_position",
            "The last journal sequence the committed log holds.",
            value=self._position(),
        )
        yield GaugeMetricFamily(
            "stx_relay_lag_records",
            "Committed journal records not yet on the log.",
            value=self.lag_records(),
        )
        yield GaugeMetricFamily(
            "stx_relay_lag_seconds",
            "Age of the oldest committed journal record not yet on the log.",
            value=self.lag_seconds(),
        )
        yield CounterMetricFamily(
            "stx_relay_records", "Records this relay appended to the log.", value=self._sent()
        )
        yield CounterMetricFamily(
            "stx_relay_errors", "Appends that failed (and were retried).", value=self._failures()
        )
        yield GaugeMetricFamily(
            "stx_relay_following",
            "1 while the relay follows the journal, 0 once it stopped on a failure.",
            value=1 if self._following() else 0,
        )
