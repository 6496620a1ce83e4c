"""The core's series, recorded per committed batch and read at scrape time.

Nothing here runs per command inside the sequencer: the batch listener
counts a batch's commands and events with C-level ``Counter`` updates into
plain tallies that a collector reads at scrape time; the queue time is
observed once per COMMANDS frame (its first command), the journal's commit
once per batch, into lock-free loop histograms (``loop_histogram``); the
risk gauges and the link's drops are read when Prometheus scrapes.
"""

from __future__ import annotations

import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from itertools import chain
from operator import itemgetter

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from matching import (
    CancelOrder,
    CancelRejected,
    CommandRejected,
    Engine,
    MassCancel,
    NewOrder,
    OrderRejected,
    RejectReason,
    ReplaceOrder,
    TradingPhase,
)
from server.metrics.exposition import LATENCY_BUCKETS
from server.metrics.loop_histogram import LoopHistogram
from server.model.sequenced import Sequenced

QUEUE = LoopHistogram(
    "stx_sequencer_queue_seconds",
    "From a gateway's submission of a command to its sequencing (first command of each frame).",
    LATENCY_BUCKETS,
)
JOURNAL_COMMIT = LoopHistogram(
    "stx_journal_commit_seconds", "A batch's journal write and fsync.", LATENCY_BUCKETS
)
"""Registered by the core process (``CoreInstruments``), observed on its loop."""

COMMAND_TYPES = {
    NewOrder: "new_order",
    CancelOrder: "cancel",
    ReplaceOrder: "replace",
    MassCancel: "mass_cancel",
}
"""Every other command (phases, instruments, risk, time) is ``admin``."""
COMMANDS_MODULE = NewOrder.__module__

_commands_of = itemgetter(1)
_events_of = itemgetter(2)


def event_label(kind: type) -> str:
    """``OrderAccepted`` -> ``accepted``, ``CancelRejected`` -> ``cancel_rejected``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__.removeprefix("Order")).lower()


class BatchCounts(Collector):
    """A sequencer listener that tallies each committed batch in plain
    ``collections.Counter`` objects (C loops, no locks), and the collector
    that turns the tallies into ``stx_commands_total``, ``stx_events_total``
    and the core's ``stx_rejects_total`` when Prometheus scrapes. The scrape
    runs on the same event loop, so it never sees a tally half updated."""

    def __init__(self) -> None:
        self.types: Tally[type] = Tally()
        """Commands and events by class, in one tally (one C loop a batch):
        command classes are ``matching.commands``'s, the rest are events."""
        self.rejects: Tally[RejectReason] = Tally()
        self._refused = 0

    def __call__(self, batch: list[Sequenced]) -> None:
        types = self.types
        types.update(
            map(type, chain(map(_commands_of, batch), chain.from_iterable(map(_events_of, batch))))
        )
        get = types.get  # not ``types[...]``: a missing key would call Counter.__missing__
        refused = get(OrderRejected, 0) + get(CancelRejected, 0) + get(CommandRejected, 0)
        if refused != self._refused:
            self._refused = refused
            self.rejects.update(
                event.reason
                for item in batch
                for event in item.events
                if isinstance(event, OrderRejected | CancelRejected | CommandRejected)
            )

    def collect(self) -> Iterable[Metric]:
        commands = CounterMetricFamily(
            "stx_commands", "Commands sequenced, by type.", labels=["type"]
        )
        by_type: Tally[str] = Tally()
        events: dict[str, int] = {}
        for kind, count in list(self.types.items()):
            if kind.__module__ == COMMANDS_MODULE:
                by_type[COMMAND_TYPES.get(kind, "admin")] += count
            else:
                events[event_label(kind)] = count
        for label, count in sorted(by_type.items()):
            commands.add_metric([label], count)
        yield commands
        family = CounterMetricFamily("stx_events", "Engine events, by type.", labels=["type"])
        for label, count in sorted(events.items()):
            family.add_metric([label], count)
        yield family
        rejects = CounterMetricFamily(
            "stx_rejects", "Refusals, by reason (RejectReason name).", labels=["reason"]
        )
        for reason, count in sorted(self.rejects.items()):
            rejects.add_metric([reason.name], count)
        yield rejects


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
