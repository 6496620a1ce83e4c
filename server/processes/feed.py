"""``stx serve feed``: the ZeroMQ market-data feed, out of the core's way.

A replica follows the core over the link; its market state turns each
committed batch into level 1/2 updates and trades, published here. The core
never waits for it: a feed that falls behind is disconnected by the core and
catches up from the journal, and subscribers see a gap and recover from the
snapshot socket, as they do for any gap.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client.registry import REGISTRY

from feeds.publisher import FeedPublisher
from server.config import Settings
from server.link.client import CoreClient
from server.metrics.feed import FeedCounts
from server.processes.link import follow, replica_of
from server.processes.market_feed import open_feed

_log = logging.getLogger("stx.feed")


class FeedProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.feed: FeedPublisher | None = None
        self.client: CoreClient | None = None
        self._counts: FeedCounts | None = None

    async def start(self) -> None:
        directory = Path(self.settings.data_dir)
        replica = await replica_of(directory, registry=False)
        self.feed = open_feed(self.settings, lambda: replica.market)
        replica.market_listeners.append(self.feed.publish)
        if self.settings.metrics_port:
            self._counts = FeedCounts(self.feed)
            replica.market_listeners.append(self._counts)
            REGISTRY.register(self._counts)
        self.client = await follow(directory, "feed", replica, pace=0.0)

    async def stop(self) -> None:
        if self._counts is not None:
            REGISTRY.unregister(self._counts)
            self._counts = None
        if self.client is not None:
            await self.client.stop()
        if self.feed is not None:
            await self.feed.stop()
        _log.info("feed stopped")
