"""The core's series, recorded per committed batch and read at scrape time.

Nothing here runs inside the sequencer: a batch listener counts a batch's
commands by class into a plain dict that a collector reads at scrape time
(the events, two or three a command, are counted off the core by the
projector: tallying them here cost about 2.5% of the core's throughput,
docs/performance.md); the queue time is
observed once per COMMANDS frame (its first command), the journal's commit
once per batch, into lock-free loop histograms (``loop_histogram``); the
risk gauges and the link's drops are read when Prometheus scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from matching import (
    CancelOrder,
    Engine,
    MassCancel,
    NewOrder,
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


class CommandCounts(Collector):
    """A sequencer listener that counts each committed batch's commands by
    class in a plain dict, and the collector that makes ``stx_commands_total``
    of it when Prometheus scrapes (on the same event loop, so never half
    updated). The engine's events are counted by the projector, which
    replays every command off the order path (``server.metrics.events``)."""

    def __init__(self) -> None:
        self.counts: dict[type, int] = {}

    def __call__(self, batch: list[Sequenced]) -> None:
        counts = self.counts
        get = counts.get
        for item in batch:
            kind = type(item.command)
            counts[kind] = get(kind, 0) + 1

    def collect(self) -> Iterable[Metric]:
        by_type: dict[str, int] = {}
        for kind, count in list(self.counts.items()):
            label = COMMAND_TYPES.get(kind, "admin")
            by_type[label] = by_type.get(label, 0) + count
        commands = CounterMetricFamily(
            "stx_commands", "Commands sequenced, by type.", labels=["type"]
        )
        for label, count in sorted(by_type.items()):
            commands.add_metric([label], count)
        yield commands


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
