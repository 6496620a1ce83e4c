"""The core's series, recorded per committed batch and read at scrape time.

Nothing here runs per command inside the sequencer: the batch listener
counts a batch's commands and events with C-level ``Counter`` updates and
then increments one pre-bound child per type present; the queue time is
observed once per COMMANDS frame (its first command), the journal's commit
once per batch; the risk gauges and the link's drops are read when
Prometheus scrapes.
"""

from __future__ import annotations

import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from itertools import chain
from operator import itemgetter
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from matching import (
    CancelOrder,
    CancelRejected,
    CommandRejected,
    Engine,
    MassCancel,
    NewOrder,
    OrderRejected,
    ReplaceOrder,
    TradingPhase,
)
from server.metrics.exposition import LATENCY_BUCKETS
from server.metrics.shared import REJECTS
from server.model.sequenced import Sequenced

COMMANDS = Counter("stx_commands", "Commands sequenced, by type.", ["type"])
EVENTS = Counter("stx_events", "Engine events, by type.", ["type"])
QUEUE = Histogram(
    "stx_sequencer_queue_seconds",
    "From a gateway's submission of a command to its sequencing (first command of each frame).",
    buckets=LATENCY_BUCKETS,
)
JOURNAL_COMMIT = Histogram(
    "stx_journal_commit_seconds",
    "A batch's journal write and fsync.",
    buckets=LATENCY_BUCKETS,
)

COMMAND_TYPES = {
    NewOrder: "new_order",
    CancelOrder: "cancel",
    ReplaceOrder: "replace",
    MassCancel: "mass_cancel",
}
"""Every other command (phases, instruments, risk, time) is ``admin``."""
REFUSALS = (OrderRejected, CancelRejected, CommandRejected)

_commands_of = itemgetter(1)
_events_of = itemgetter(2)


def event_label(kind: type) -> str:
    """``OrderAccepted`` -> ``accepted``, ``CancelRejected`` -> ``cancel_rejected``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__.removeprefix("Order")).lower()


class BatchCounts:
    """A sequencer listener: each committed batch into the counters."""

    def __init__(self) -> None:
        self._commands: dict[type, Any] = {}
        self._events: dict[type, Any] = {}
        self._rejects: dict[Any, Any] = {}

    def __call__(self, batch: list[Sequenced]) -> None:
        commands = self._commands
        for kind, count in Tally(map(type, map(_commands_of, batch))).items():
            child = commands.get(kind)
            if child is None:
                child = commands[kind] = COMMANDS.labels(COMMAND_TYPES.get(kind, "admin"))
            child.inc(count)
        events = self._events
        tally = Tally(map(type, chain.from_iterable(map(_events_of, batch))))
        for kind, count in tally.items():
            child = events.get(kind)
            if child is None:
                child = events[kind] = EVENTS.labels(event_label(kind))
            child.inc(count)
        if any(kind in tally for kind in REFUSALS):
            self._count_rejects(batch)

    def _count_rejects(self, batch: list[Sequenced]) -> None:
        rejects = self._rejects
        for item in batch:
            for event in item.events:
                if type(event) in REFUSALS:
                    child = rejects.get(event.reason)
                    if child is None:
                        child = rejects[event.reason] = REJECTS.labels(event.reason.name)
                    child.inc()


class RiskState(Collector):
    """The risk gauges and the link's drops, read from the engine at scrape time."""

    def __init__(self, engine: Callable[[], Engine], dropped: Callable[[], int]) -> None:
        self._engine = engine
        self._dropped = dropped

    def collect(self) -> Iterable[Metric]:
        engine = self._engine()
        killed = sum(1 for ledger in engine.risk.accounts.values() if ledger.killed)
        halted = sum(1 for book in engine.books.values() if book.phase is TradingPhase.HALTED)
        yield GaugeMetricFamily(
            "stx_kill_switches_active", "Accounts under a kill switch.", value=killed
        )
        yield GaugeMetricFamily("stx_halted_symbols", "Symbols halted.", value=halted)
        yield GaugeMetricFamily(
            "stx_circuit_breaker_level",
            "Market-wide circuit-breaker level tripped (0 = none).",
            value=engine.breakers_tripped,
        )
        drops = Metric(
            "stx_link_lagging_drops",
            "Consumer connections dropped as too far behind.",
            "counter",
        )
        drops.add_sample("stx_link_lagging_drops_total", {}, self._dropped())
        yield drops

    def register(self, registry: CollectorRegistry = REGISTRY) -> None:
        registry.register(self)

    def unregister(self, registry: CollectorRegistry = REGISTRY) -> None:
        registry.unregister(self)
