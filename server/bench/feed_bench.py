"""``stx bench feed``: market data from order acceptance to subscribers.

Self-contained: an engine and a ``FeedPublisher`` in this process, fed a
seeded order flow paced so that the feed carries ``rate`` level 2 updates a
second; ``subscribers`` processes subscribe to every symbol's L2 channel over
loopback TCP and time each update from its ``update_time`` (the engine time
the command was accepted, taken from the wall clock) to its arrival. With
``curve``, the feed is encrypted as ``stx serve`` runs it (CurveZMQ) and the
subscribers hold the server's public key.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import zmq
from hdrh.histogram import HdrHistogram

from feeds import wire
from feeds.curve import connect_securely, ensure_server_keys
from feeds.publisher import FeedPublisher
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.runtime import settle_heap

MAX_US = 60_000_000


def _subscriber(
    endpoint: str, seconds: float, ready: Any, results: Any, server_key: bytes | None
) -> None:
    from stocktraderx.v1 import market_data_pb2 as pb  # noqa: PLC0415 - in the child

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 1_000_000)
    if server_key is not None:
        connect_securely(sub, server_key)
    sub.connect(endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"L2|")
    histogram = HdrHistogram(1, MAX_US, 3)
    ready.put(True)
    deadline = time.monotonic() + seconds
    received = 0
    while time.monotonic() < deadline:
        if not sub.poll(100):
            continue
        _, body = sub.recv_multipart()
        arrived = time.time_ns()
        message = pb.SubscribeMarketDataResponse.FromString(body)
        if message.WhichOneof("event") != "depth_update":
            continue
        sent = message.depth_update.update_time.ToNanoseconds()
        histogram.record_value(min(max((arrived - sent) // 1_000, 1), MAX_US))
        received += 1
    results.put((received, histogram.encode()))
    sub.close()
    context.term()


async def _drive(publisher: FeedPublisher, core: ExchangeCore, rate: float, seconds: float) -> int:
    flow = OrderFlow(core.engine, 3)
    published = [0]

    def count(updates: list[Any]) -> None:
        published[0] += sum(1 for update in updates if wire.channel_of(update) == wire.L2)

    core.market_listeners.append(count)
    sequencer = core.sequencer
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        behind = rate * elapsed - published[0]
        if behind <= 0:
            await asyncio.sleep(0.0005)
            continue
        for _ in range(min(int(behind) + 1, 200)):
            command = flow.next_command()._replace(timestamp=sequencer.now())
            flow.observe(sequencer.submit(command).events)
        sequencer.commit_now()
        await sequencer.durable()
    return published[0]


async def _measure(
    rate: float, seconds: float, subscribers: int, curve: bool
) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="stx-bench-feed-") as scratch:
        core = ExchangeCore.open(
            Path(scratch), instruments(), durability=Durability.NONE, snapshot_every=10**12
        )
        keys = ensure_server_keys(Path(scratch) / "tls") if curve else None
        publisher = FeedPublisher.for_market(
            core.market, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", curve=keys
        )
        core.market_listeners.append(publisher.publish)
        publisher.start()
        spawn = multiprocessing.get_context("spawn")
        ready, results = spawn.Queue(), spawn.Queue()
        children = [
            spawn.Process(
                target=_subscriber,
                args=(
                    publisher.publish_endpoint,
                    seconds + 3,
                    ready,
                    results,
                    keys.public if keys is not None else None,
                ),
                daemon=True,
            )
            for _ in range(subscribers)
        ]
        for child in children:
            child.start()
        for _ in children:
            await asyncio.to_thread(ready.get, True, 60)
        await asyncio.sleep(0.5)  # subscriptions travel to the publisher
        settle_heap()  # the server's collector policy (server/runtime.py)
        published = await _drive(publisher, core, rate, seconds)
        merged = HdrHistogram(1, MAX_US, 3)
        received = 0
        for _ in children:
            count, encoded = await asyncio.to_thread(results.get, True, seconds + 30)
            received += count
            merged.decode_and_add(encoded)
        for child in children:
            child.join(10)
        await publisher.stop()
        await core.close(final_snapshot=False)
    return {
        "subscribers": subscribers,
        "curve": int(curve),
        "updates_per_sec": round(published / seconds, 1),
        "published": published,
        "received": received,
        "p50_us": merged.get_value_at_percentile(50),
        "p99_us": merged.get_value_at_percentile(99),
        "p999_us": merged.get_value_at_percentile(99.9),
        "max_us": merged.get_max_value(),
    }


def measure(
    rate: float, seconds: float, subscribers: int, curve: bool = False
) -> dict[str, float | int]:
    return asyncio.run(_measure(rate, seconds, subscribers, curve))
