"""``stx_feed_messages_total`` of the feed process, by channel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from feeds import wire
from feeds.market import Update


class FeedCounts(Collector):
    """A market listener beside the publisher: each batch's updates by channel."""

    def __init__(self) -> None:
        self.by_channel: Counter[str] = Counter()

    def __call__(self, updates: list[Update]) -> None:
        self.by_channel.update(map(wire.channel_of, updates))

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "stx_feed_messages", "Market data messages published, by channel.", labels=["channel"]
        )
        for channel in wire.CHANNELS:
            family.add_metric([channel.lower()], self.by_channel[channel])
        yield family
