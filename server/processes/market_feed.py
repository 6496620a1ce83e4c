"""The ZeroMQ market-data feed over a market state, bound where configured."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from feeds.curve import ensure_server_keys
from feeds.market import MarketState
from feeds.publisher import FeedBindError, FeedPublisher
from server.config import Settings
from server.transport.listen import ListenError, reason_of, zmq_endpoint

_log = logging.getLogger("stx.feed")


def open_feed(settings: Settings, market: Callable[[], MarketState]) -> FeedPublisher:
    """A publisher of the updates of the market state ``market()`` returns
    (a replica's is replaced when it starts again from a snapshot), bound
    (``ListenError`` if a port is taken) and started; the caller hands it each
    batch's updates."""
    keys = None
    if settings.tls.feed_encrypted:
        keys = ensure_server_keys(Path(settings.data_dir) / "tls")
    publish = zmq_endpoint(settings.listen_address, settings.feed_port)
    snapshot = zmq_endpoint(settings.listen_address, settings.snapshot_port)
    try:
        feed = FeedPublisher.following(market, publish, snapshot, curve=keys)
    except FeedBindError as error:
        setting = "feed_port" if error.endpoint == publish else "snapshot_port"
        port = getattr(settings, setting)
        raise ListenError(setting, settings.listen_address, port, reason_of(error)) from None
    feed.start()
    _log.info(
        "market data on %s (snapshots on %s), %s",
        feed.publish_endpoint,
        feed.snapshot_endpoint,
        "plaintext" if keys is None else
        f"CurveZMQ: subscribers need the server key in {settings.data_dir}/tls/feed-server.pub",
    )  # fmt: skip
    return feed
