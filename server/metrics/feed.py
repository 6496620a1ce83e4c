"""The feed process's series: messages published by channel, and the drops
it can see.

A ZeroMQ PUB socket drops messages for a subscriber whose queue is at its
high-water mark without telling anyone, so those drops cannot be counted
where they happen. What can: the batches the publisher itself shed because
its sending thread fell behind (every subscriber misses them), and the
snapshots its recovery service answered (a subscriber asks for one per
channel as it joins, and again after each gap it noticed, so a snapshot rate
above the rate subscribers join is the rate they lose messages).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from feeds import wire
from feeds.market import Update


class Shedding(Protocol):
    """What the publisher counts (``feeds.publisher.FeedPublisher``)."""

    @property
    def dropped_batches(self) -> int: ...

    @property
    def snapshots_served(self) -> Mapping[str, int]: ...


class FeedCounts(Collector):
    """A market listener beside the publisher: each batch's updates by
    channel; the publisher's own counts are read when scraped."""

    def __init__(self, publisher: Shedding) -> None:
        self.by_channel: Counter[str] = Counter()
        self.publisher = publisher

    def __call__(self, updates: list[Update]) -> None:
        self.by_channel.update(map(wire.channel_of, updates))

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "stx_feed_messages", "Market data messages published, by channel.", labels=["channel"]
        )
        for channel in wire.CHANNELS:
            family.add_metric([channel.lower()], self.by_channel[channel])
        yield family
        yield CounterMetricFamily(
            "stx_feed_dropped_batches",
            "Committed batches the publisher shed because its sending thread was behind "
            "(every subscriber misses them and recovers from a snapshot).",
            value=self.publisher.dropped_batches,
        )
        served = CounterMetricFamily(
            "stx_feed_snapshots_served",
            "Snapshots answered by the recovery service, by channel: one per channel as a "
            "subscriber joins, one more after each gap it noticed.",
            labels=["channel"],
        )
        snapshots = self.publisher.snapshots_served
        for channel in (wire.L1, wire.L2):  # TRADES has no snapshot
            served.add_metric([channel.lower()], snapshots.get(channel, 0))
        yield served
