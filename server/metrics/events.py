"""``stx_events_total`` and the engine's ``stx_rejects_total``, counted by the
projector as it replays each committed command (the same events the core's
engine produced: the engine is deterministic), so the core pays nothing.

The projector replays on a worker thread and the scrape reads on the event
loop: the tallies are only added to there, and read here through a C-level
``dict`` copy, which the GIL makes whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from matching import CancelRejected, CommandRejected, Event, OrderRejected, RejectReason


def event_label(kind: type) -> str:
    """``OrderAccepted`` -> ``accepted``, ``CancelRejected`` -> ``cancel_rejected``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__.removeprefix("Order")).lower()


class EventCounts(Collector):
    """Called with each replayed command's events; collected at scrape time."""

    def __init__(self) -> None:
        self.types: Counter[type] = Counter()
        self.rejects: Counter[RejectReason] = Counter()

    def __call__(self, events: list[Event]) -> None:
        self.types.update(map(type, events))
        for event in events:
            if isinstance(event, OrderRejected | CancelRejected | CommandRejected):
                self.rejects[event.reason] += 1

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily("stx_events", "Engine events, by type.", labels=["type"])
        for label, count in sorted((event_label(k), n) for k, n in dict(self.types).items()):
            family.add_metric([label], count)
        yield family
        rejects = CounterMetricFamily(
            "stx_rejects", "Engine refusals, by RejectReason name.", labels=["reason"]
        )
        for reason, count in sorted(dict(self.rejects).items()):
            rejects.add_metric([reason.name], count)
        yield rejects
