"""The metrics module: the core's batch tallies, the endpoint, GC pauses, ports."""

from __future__ import annotations

import asyncio
import gc
import urllib.request
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from feeds.market import MarketState
from feeds.publisher import FeedPublisher
from feeds.subscriber import SymbolFeed
from matching import (
    CancelOrder,
    Command,
    Engine,
    Instrument,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    OrderType,
    SetTradingPhase,
    Side,
    TradingPhase,
)
from server.config import ConfigError, load
from server.metrics.analytics import AnalyticsLag
from server.metrics.core import CommandCounts
from server.metrics.events import EventCounts, event_label
from server.metrics.exposition import GcPauses, MetricsServer, port_of
from server.metrics.feed import FeedCounts
from server.metrics.loop_histogram import LoopHistogram
from server.metrics.projector import ProjectorLag
from server.metrics.surveillance import AlertCounts
from server.model.alerts import AlertKind
from server.model.sequenced import Sequenced


def _order(timestamp: int, price: int, quantity: int = 10) -> NewOrder:
    return NewOrder(timestamp, "A1", "ACME", Side.BUY, OrderType.LIMIT, quantity, price)


def _samples(collector: Collector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def test_commands_are_counted_by_type_and_events_by_type_and_reject_reason() -> None:
    engine = Engine([Instrument("ACME", 1, lot_size=1, reference_price=100)])
    commands_counted, events_counted = CommandCounts(), EventCounts()
    commands: list[Command] = [
        _order(1, 100),
        _order(2, 100, quantity=0),
        CancelOrder(3, "A1", 1),
        SetTradingPhase(4, "ACME", TradingPhase.HALTED),
    ]
    batch = []
    for number, command in enumerate(commands, 1):
        events = engine.process(command)
        events_counted(events)
        batch.append(Sequenced(number, command, events, "", b""))
    commands_counted(batch[:2])
    commands_counted(batch[2:])
    counted = _samples(commands_counted)
    assert counted == {
        ("stx_commands_total", (("type", "new_order"),)): 2,
        ("stx_commands_total", (("type", "cancel"),)): 1,
        ("stx_commands_total", (("type", "admin"),)): 1,
    }
    samples = _samples(events_counted)
    assert samples[("stx_events_total", (("type", "accepted"),))] == 1
    assert samples[("stx_events_total", (("type", "rejected"),))] == 1
    refused = next(e for e in batch[1].events if isinstance(e, OrderRejected))
    rejects = {key: value for key, value in samples.items() if key[0] == "stx_rejects_total"}
    assert rejects == {("stx_rejects_total", (("reason", refused.reason.name),)): 1}


def test_event_labels_drop_the_order_prefix_and_use_snake_case() -> None:
    assert event_label(OrderAccepted) == "accepted"
    assert event_label(OrderRejected) == "rejected"
    assert event_label(SetTradingPhase) == "set_trading_phase"


def test_each_role_has_its_catalogue_offset_and_zero_turns_them_off() -> None:
    roles = ("core", "gateway", "projector", "surveillance", "feed", "rest", "fix", "analytics")
    assert [port_of(role, 9100) for role in roles] == list(range(9101, 9109))
    assert port_of("core", 0) == 0


def test_gc_pauses_are_observed_by_generation() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("pause_seconds", "GC pauses.", ["generation"], registry=registry)
    pauses = GcPauses(histogram)
    pauses.install()
    try:
        gc.collect(2)
    finally:
        pauses.remove()
    assert registry.get_sample_value("pause_seconds_count", {"generation": "2"}) == 1
    assert pauses not in gc.callbacks


def test_the_endpoint_serves_the_registry_in_the_text_format() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("probe_seconds", "A probe.", registry=registry)
    histogram.observe(0.0002)

    async def scrape() -> str:
        server = MetricsServer(registry)
        port = await server.start("127.0.0.1", 0)
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            return await asyncio.to_thread(
                lambda: urllib.request.urlopen(url, timeout=10).read().decode()
            )
        finally:
            await server.stop()

    text = asyncio.run(scrape())
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["probe_seconds"].type == "histogram"
    counts = [s.value for s in families["probe_seconds"].samples if s.name.endswith("_count")]
    assert counts == [1]


def test_a_loop_histogram_is_cumulative_and_a_bound_holds_its_own_value() -> None:
    histogram = LoopHistogram("wait_seconds", "Waits.", [0.001, 0.01])
    for value in (0.0005, 0.001, 0.005, 0.5):
        histogram.observe(value)
    (family,) = histogram.collect()
    samples = {(s.name, s.labels.get("le", "")): s.value for s in family.samples}
    assert samples[("wait_seconds_bucket", "0.001")] == 2
    assert samples[("wait_seconds_bucket", "0.01")] == 3
    assert samples[("wait_seconds_bucket", "+Inf")] == 4
    assert samples[("wait_seconds_count", "")] == 4
    assert samples[("wait_seconds_sum", "")] == 0.5065


def test_projector_lag_counts_records_and_ages_the_oldest_unstored() -> None:
    now, stored = [100.0], [0]
    lag = ProjectorLag(lambda: stored[0], lambda: 2, "sqlite", clock=lambda: now[0])
    lag.committed_to(10)
    now[0] = 101.0
    lag.committed_to(20)
    now[0] = 103.0
    assert (lag.committed, lag.lag_seconds()) == (20, 3.0)
    stored[0] = 10
    assert lag.lag_seconds() == 2.0  # records 11..20 were reported at 101
    stored[0] = 20
    assert lag.lag_seconds() == 0.0
    values = {s.name: s.value for family in lag.collect() for s in family.samples}
    assert values["stx_projector_lag_records"] == 0
    assert values["stx_store_errors_total"] == 2


class _Publisher:
    def __init__(self) -> None:
        self.dropped_batches = 0
        self.snapshots_served: Counter[str] = Counter()


def test_feed_messages_are_counted_by_channel() -> None:
    engine = Engine([Instrument("ACME", 1, lot_size=1, reference_price=100)])
    market = MarketState.from_engine(engine)
    counts = FeedCounts(_Publisher())
    for sequence, command in enumerate(
        [_order(1, 100), NewOrder(2, "B1", "ACME", Side.SELL, OrderType.LIMIT, 10, 100)], 1
    ):
        counts(market.apply(sequence, command, engine.process(command)))
    values = {
        s.labels["channel"]: s.value
        for family in counts.collect()
        for s in family.samples
        if s.name == "stx_feed_messages_total"
    }
    assert values["trades"] == 1
    assert values["l1"] >= 1
    assert values["l2"] >= 1


def test_the_feeds_shed_batches_and_the_snapshots_it_served_are_counted() -> None:
    """A publisher whose sending thread is a batch behind sheds the next ones;
    the collector shows them, and the snapshots served, as counters."""

    async def scenario() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        engine = Engine([Instrument("ACME", 1, lot_size=1, reference_price=100)])
        market = MarketState.from_engine(engine)
        publisher = FeedPublisher.for_market(
            market, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", queue_limit=1
        )
        try:
            # Not started: nothing drains the hand-off queue of one batch.
            for sequence, command in enumerate([_order(1, 100), _order(2, 101), _order(3, 102)], 1):
                publisher.publish(market.apply(sequence, command, engine.process(command)))
            publisher.start()
            feed = SymbolFeed(
                publisher.publish_endpoint, publisher.snapshot_endpoint, "ACME", ("L1", "L2")
            )
            try:
                await asyncio.to_thread(feed.poll, 10)  # joins: one snapshot of L1 and L2
            finally:
                feed.close()
            return _samples(FeedCounts(publisher))
        finally:
            await publisher.stop()

    samples = asyncio.run(scenario())
    assert samples["stx_feed_dropped_batches_total", ()] == 2
    assert samples["stx_feed_snapshots_served_total", (("channel", "l2"),)] == 1
    assert samples["stx_feed_snapshots_served_total", (("channel", "l1"),)] == 1


def test_alerts_are_counted_by_kind_and_manual_ones_are_not_raised() -> None:
    raised = Counter({AlertKind.SPOOFING: 2, AlertKind.WASH_TRADE: 1})
    values = {
        s.labels["kind"]: s.value for family in AlertCounts(lambda: raised).collect()
        for s in family.samples
    }  # fmt: skip
    assert (values["spoofing"], values["wash_trade"], values["layering"]) == (2, 1, 0)
    assert "manual" not in values


def test_the_metrics_port_is_a_setting_whose_six_offsets_must_fit() -> None:
    assert load(environ={}).metrics_port == 9100
    assert load(environ={"STX_METRICS_PORT": "0"}).metrics_port == 0
    assert load(environ={"STX_METRICS_PORT": "19200"}).metrics_port == 19200
    with pytest.raises(ConfigError, match="metrics_port"):
        load(environ={"STX_METRICS_PORT": "65530"})


def test_analytics_lag_shows_the_store_falling_behind_and_stopping() -> None:
    now, held, following = [50.0], [5], [True]
    lag = AnalyticsLag(lambda: held[0], lambda: following[0], clock=lambda: now[0])
    lag.committed_to(30)
    now[0] = 54.0

    def values() -> dict[str, float]:
        return {s.name: s.value for family in lag.collect() for s in family.samples}

    assert values() == {
        "stx_analytics_position": 5,
        "stx_analytics_lag_records": 25,
        "stx_analytics_lag_seconds": 4.0,
        "stx_analytics_following": 1,
    }
    held[0], following[0] = 30, False
    assert values() == {
        "stx_analytics_position": 30,
        "stx_analytics_lag_records": 0,
        "stx_analytics_lag_seconds": 0.0,
        "stx_analytics_following": 0,
    }
