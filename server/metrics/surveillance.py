"""``stx_alerts_total`` of the surveillance process, by kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from server.model.alerts import AlertKind


class AlertCounts(Collector):
    """Reads the desk's tally of raised alerts when Prometheus scrapes."""

    def __init__(self, raised: Callable[[], Counter[AlertKind]]) -> None:
        self._raised = raised

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "stx_alerts", "Surveillance alerts raised, by kind.", labels=["kind"]
        )
        raised = self._raised()
        for kind in AlertKind:
            if kind is not AlertKind.MANUAL:  # filed by people, not raised
                family.add_metric([kind.name.lower()], raised[kind])
        yield family
