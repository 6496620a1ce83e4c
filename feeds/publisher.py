"""The ZeroMQ market data feed: PUB for updates, ROUTER for snapshots.

Reliable pub-sub in the "clone" pattern of the ZeroMQ guide: updates go out
on a PUB socket, each with its channel's sequence number; a subscriber that
joins, or finds a gap, asks the snapshot service for the current state of a
symbol's channel and applies only the updates numbered after it.

Matching never waits for a subscriber. The sequencer's listener only puts
the committed batch's updates on a queue; a thread of its own encodes and
sends them, and ZeroMQ drops messages for a subscriber whose queue reached
the high-water mark (that subscriber sees a gap and re-snapshots). If the
thread itself falls behind by ``QUEUE_LIMIT`` batches, whole batches are
dropped and counted, with the same effect for every subscriber. Channels
without updates get a heartbeat every second carrying their last
channel sequence, so a lost update is noticed even on a quiet channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio
from stocktraderx.v1 import market_data_pb2 as pb

from feeds import wire
from feeds.curve import CurveKeys, serve_securely
from feeds.market import MarketState, Update

_log = logging.getLogger(__name__)

SEND_HWM = 100_000
"""Messages ZeroMQ queues per subscriber before it drops for that one."""
QUEUE_LIMIT = 10_000
"""Committed batches waiting for the sending thread before batches are dropped."""
HEARTBEAT_SECONDS = 1.0

SnapshotSource = Callable[[str, str], bytes | None]
"""(channel, symbol) -> a serialised SubscribeMarketDataResponse, or None if unknown."""


class FeedBindError(OSError):
    """An endpoint could not be bound (its port taken, say); ``endpoint`` names it."""

    def __init__(self, endpoint: str, error: zmq.ZMQError) -> None:
        super().__init__(error.errno, error.strerror)
        self.endpoint = endpoint


class FeedPublisher:
    def __init__(
        self,
        publish_endpoint: str,
        snapshot_endpoint: str,
        snapshot_source: SnapshotSource,
        channels: Callable[[], dict[tuple[str, str], tuple[int, int]]],
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        send_hwm: int = SEND_HWM,
        queue_limit: int = QUEUE_LIMIT,
        curve: CurveKeys | None = None,
    ) -> None:
        # The PUB socket belongs to the sending thread (ZeroMQ sockets are not
        # shared between threads); the ROUTER to the event loop.
        self._pub_context = zmq.Context()
        self._pub: zmq.Socket[bytes] = self._pub_context.socket(zmq.PUB)
        self._context = zmq.asyncio.Context()
        self._pub.setsockopt(zmq.SNDHWM, send_hwm)
        self._router = self._context.socket(zmq.ROUTER)
        for socket, endpoint in ((self._pub, publish_endpoint),
                                 (self._router, snapshot_endpoint)):  # fmt: skip
            socket.setsockopt(zmq.LINGER, 0)
            if endpoint.startswith("tcp://["):
                socket.setsockopt(zmq.IPV6, 1)
            if curve is not None:
                serve_securely(socket, curve)
            try:
                socket.bind(endpoint)
            except zmq.ZMQError as error:
                self._close_sockets()
                raise FeedBindError(endpoint, error) from None
        self.publish_endpoint = self._pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.snapshot_endpoint = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        self._source = snapshot_source
        self._channels = channels
        """(channel, symbol) -> (engine sequence, channel sequence) of every channel now."""
        self._heartbeat = heartbeat_seconds
        self._queue: queue.Queue[list[Update] | None] = queue.Queue(queue_limit)
        self.dropped_batches = 0
        """Committed batches shed because the sending thread was ``queue_limit`` behind."""
        self.snapshots_served: Counter[str] = Counter()
        """Snapshots answered, by channel: a subscriber asks once per channel as
        it joins and again after each loss it noticed (a PUB socket drops for a
        slow subscriber without telling anyone, so this is where drops show)."""
        self.sent = 0
        self._thread: threading.Thread | None = None
        self._serving: asyncio.Task[None] | None = None

    @classmethod
    def for_market(
        cls, market: MarketState, publish_endpoint: str, snapshot_endpoint: str, **options: Any
    ) -> FeedPublisher:
        """A publisher whose snapshots and heartbeats come from ``market``."""
        return cls.following(lambda: market, publish_endpoint, snapshot_endpoint, **options)

    @classmethod
    def following(
        cls,
        current: Callable[[], MarketState],
        publish_endpoint: str,
        snapshot_endpoint: str,
        **options: Any,
    ) -> FeedPublisher:
        """A publisher whose snapshots and heartbeats come from the market state
        ``current()`` returns at each request: a replica that starts again
        from a snapshot replaces its state, and the feed serves the new one."""

        def snapshot(channel: str, symbol: str) -> bytes | None:
            found = current().markets.get(symbol)
            if found is None:
                return None
            if channel == wire.L2:
                message = pb.SubscribeMarketDataResponse(depth_snapshot=wire.depth_snapshot(found))
            else:
                message = pb.SubscribeMarketDataResponse(quote=wire.quote_message(found.quote()))
            return message.SerializeToString()

        def channels() -> dict[tuple[str, str], tuple[int, int]]:
            now: dict[tuple[str, str], tuple[int, int]] = {}
            for symbol, each in current().markets.items():
                now[(wire.L1, symbol)] = (each.sequence, each.l1_sequence)
                now[(wire.L2, symbol)] = (each.sequence, each.l2_sequence)
                now[(wire.TRADES, symbol)] = (each.sequence, each.trades_sequence)
            return now

        return cls(publish_endpoint, snapshot_endpoint, snapshot, channels, **options)

    def publish(self, updates: list[Update]) -> None:
        """A market listener: hand a committed batch's updates to the sender."""
        if not updates:
            return
        try:
            self._queue.put_nowait(updates)
        except queue.Full:
            self.dropped_batches += 1

    def start(self) -> None:
        known = self._channels()
        self._thread = threading.Thread(
            target=self._send_loop, args=(known,), name="feed-publisher", daemon=True
        )
        self._thread.start()
        self._serving = asyncio.get_running_loop().create_task(self._serve_snapshots())

    async def stop(self) -> None:
        if self._serving is not None:
            self._serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join, 10)
        self._close_sockets()

    def _close_sockets(self) -> None:
        self._pub.close()
        self._router.close()
        self._pub_context.term()
        self._context.term()

    # -- the sending thread --------------------------------------------------

    def _send_loop(self, known: dict[tuple[str, str], tuple[int, int]]) -> None:
        pub = self._pub
        last_sent = dict.fromkeys(known, 0.0)
        state = dict(known)
        next_beat = time.monotonic() + self._heartbeat
        while True:
            timeout = max(0.0, next_beat - time.monotonic())
            try:
                updates = self._queue.get(timeout=timeout)
            except queue.Empty:
                updates = []
            if updates is None:
                return
            now = time.monotonic()
            for update in updates:
                channel = wire.channel_of(update)
                key = (channel, update.symbol)
                body = wire.message(update).SerializeToString()
                self._send(pub, wire.topic(channel, update.symbol), body)
                state[key] = (update.sequence, update.channel_sequence)
                last_sent[key] = now
            if now >= next_beat:
                self._beat(pub, state, last_sent, now)
                next_beat = now + self._heartbeat

    def _beat(
        self,
        pub: zmq.Socket[bytes],
        state: dict[tuple[str, str], tuple[int, int]],
        last_sent: dict[tuple[str, str], float],
        now: float,
    ) -> None:
        wall = time.time_ns()
        for key, (sequence, channel_sequence) in state.items():
            if now - last_sent.get(key, 0.0) >= self._heartbeat:
                body = wire.heartbeat(sequence, channel_sequence, wall).SerializeToString()
                self._send(pub, wire.topic(*key), body)
                last_sent[key] = now

    def _send(self, pub: zmq.Socket[bytes], topic: bytes, body: bytes) -> None:
        try:
            pub.send_multipart((topic, body), flags=zmq.NOBLOCK)
            self.sent += 1
        except zmq.Again:  # PUB drops rather than block; kept for clarity
            pass

    # -- the snapshot service (on the event loop, where the market state lives) --

    async def _serve_snapshots(self) -> None:
        router = self._router
        while True:
            frames = await router.recv_multipart()
            identity, request = frames[0], frames[1:]
            await router.send_multipart([identity, *self._answer(request)])

    def _answer(self, request: list[bytes]) -> list[bytes]:
        if len(request) != 3 or request[0] != b"SNAPSHOT":
            return [b"ERROR", b"expected SNAPSHOT <channel> <symbol>"]
        channel, symbol = request[1].decode(errors="replace"), request[2].decode(errors="replace")
        if channel not in (wire.L1, wire.L2):
            return [b"ERROR", f"channel {channel!r} has no snapshot (L1 or L2)".encode()]
        body = self._source(channel, symbol)
        if body is None:
            return [b"ERROR", f"no instrument {symbol!r}".encode()]
        self.snapshots_served[channel] += 1
        return [b"OK", body]
