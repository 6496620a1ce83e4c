"""Replication's series, read at scrape time from the primary's server or the standby."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class ReplicationLag(Collector):
    """The lag in records and seconds, on either end; on the primary also
    whether a standby is in step and how often sync mode degraded or refused."""

    def __init__(
        self,
        lag: Callable[[], tuple[int, float]],
        in_step: Callable[[], bool] | None = None,
        degraded: Callable[[], bool] | None = None,
        refused: Callable[[], int] | None = None,
    ) -> None:
        self._lag = lag
        self._in_step = in_step
        self._degraded = degraded
        self._refused = refused

    def collect(self) -> Iterable[Metric]:
        records, seconds = self._lag()
        yield GaugeMetricFamily(
            "stx_replication_lag_records",
            "Records committed on the primary and not yet durable on the standby.",
            value=records,
        )
        yield GaugeMetricFamily(
            "stx_replication_lag_seconds",
            "How long the oldest record not yet durable on the standby has waited.",
            value=seconds,
        )
        if self._in_step is not None:
            yield GaugeMetricFamily(
                "stx_replication_in_step",
                "1 while a standby is connected, caught up and acknowledging in time.",
                value=int(self._in_step()),
            )
        if self._degraded is not None:
            yield GaugeMetricFamily(
                "stx_replication_degraded",
                "1 while sync replication acknowledges without a standby (on_timeout = "
                "degrade): alert on it.",
                value=int(self._degraded()),
            )
        if self._refused is not None:
            yield CounterMetricFamily(
                "stx_replication_refused_commands",
                "Commands refused because sync replication had no standby in step.",
                value=self._refused(),
            )
