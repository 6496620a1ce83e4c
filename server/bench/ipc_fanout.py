"""Flow B of the process split: committed batches from the core to consumers.

The core (a child process on uvloop) appends each batch to a real journal
(``JournalWriter``, durability ``none``: the page cache, no fsync), as the
sequencer does, and then hands it to the consumers by the candidate:

- ``zmq``: one PUB socket over ``ipc://`` with a high-water mark; ZeroMQ
  drops what a subscriber cannot take, never blocking the core;
- ``uds``: one Unix domain socket per consumer, written without waiting; a
  consumer whose unsent bytes pass ``SEND_LIMIT`` is disconnected;
- ``journal-poll``: nothing; the consumers follow the journal files
  themselves (``JournalTail``), sleeping ``POLL_INTERVAL`` when idle;
- ``journal-inotify``: the same, waking on the kernel's inotify events for
  the journal directory instead of sleeping.

Every consumer tracks the next sequence it needs. A gap (batches dropped by
the high-water mark) or a disconnection is made good from the journal, as a
consumer would after falling behind or restarting, so every consumer ends
with every record whatever happened on the way. With ``slow``, the first
consumer sleeps after each receipt: it falls behind, and the figures show
what that costs the core (nothing, is the requirement) and the others.

The core's CPU per batch (``core_cpu``: every thread of the process, ZeroMQ's
I/O thread included; ``core_loop_cpu``: the event loop's thread alone, the
one the sequencer runs on) includes the journal append and write it does
anyway: the ``journal-poll`` candidate is that baseline, and the difference to
it is what publishing costs. Latency runs from the end of the journal write
(the commit) to the consumer's receipt (``CLOCK_MONOTONIC`` is system-wide).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import uvloop
import zmq
from hdrh.histogram import HdrHistogram
from inotify_simple import INotify, flags

from server.bench.ipc_frames import (
    FrameBuffer,
    committed_batch,
    length_prefixed,
    read_committed,
    scratch_address,
    wait_for,
)
from server.journal.tail import JournalTail
from server.journal.writer import Durability, JournalWriter

CANDIDATES = ("zmq", "uds", "journal-poll", "journal-inotify")
HIGH_WATER_MARK = 256
"""Batches ZeroMQ holds for one subscriber on each side before dropping."""
SEND_LIMIT = 1 << 20
"""Unsent bytes the core keeps for one socket consumer before dropping it."""
POLL_INTERVAL = 0.001
SLOW_SLEEP = 0.002
"""What the slow consumer sleeps after each receipt."""
_MAX_US = 60_000_000
_WAIT_MS = 20


class _ConsumerStream(asyncio.Protocol):
    """The core's side of one consumer's socket: written to, never read."""

    def __init__(self, streams: list[asyncio.Transport]) -> None:
        self._streams = streams
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._streams.append(self._transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport in self._streams:
            self._streams.remove(self._transport)


class _Publisher:
    """The core's end of one candidate."""

    def __init__(self, kind: str, address: str) -> None:
        self.kind = kind
        self.dropped = 0
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._pub: zmq.Socket[bytes] | None = None
        self._streams: list[asyncio.Transport] = []
        self._server: asyncio.Server | None = None
        self._address = address

    async def open(self) -> None:
        if self.kind == "zmq":
            self._context = zmq.Context()
            self._pub = self._context.socket(zmq.PUB)
            self._pub.setsockopt(zmq.SNDHWM, HIGH_WATER_MARK)
            self._pub.bind(self._address)
        elif self.kind == "uds":
            streams = self._streams
            self._server = await asyncio.get_running_loop().create_unix_server(
                lambda: _ConsumerStream(streams), self._address
            )

    def publish(self, frame: bytes) -> None:
        if self._pub is not None:
            self._pub.send(frame, zmq.NOBLOCK)
            return
        if not self._streams:
            return
        framed = length_prefixed(frame)
        for stream in list(self._streams):
            if stream.get_write_buffer_size() > SEND_LIMIT:
                # Never wait for a consumer: it catches up from the journal.
                stream.close()
                self._streams.remove(stream)
                self.dropped += 1
            else:
                stream.write(framed)

    def close(self) -> None:
        if self._pub is not None and self._context is not None:
            self._pub.close(linger=2000)
            self._context.term()
        for stream in self._streams:
            stream.close()
        if self._server is not None:
            self._server.close()


async def _core(config: dict[str, Any], shared: tuple[Any, Any], queues: tuple[Any, ...]) -> None:
    published, last = shared
    ready, control, results = queues
    writer = JournalWriter(Path(config["journal"]), durability=Durability.NONE)
    publisher = _Publisher(config["kind"], config["address"])
    await publisher.open()
    ready.put("bound")
    await asyncio.to_thread(control.get, True, 120)
    batch, payloads = config["batch"], config["payloads"]
    batches = [
        payloads[offset : offset + batch] for offset in range(0, len(payloads) - batch + 1, batch)
    ]
    rate, duration = config["batches_per_sec"], config["duration"]
    sequence = 1
    index = 0
    began_cpu, began_thread = time.process_time(), time.thread_time()
    began = time.perf_counter()
    while index < len(published) and time.perf_counter() - began < duration:
        if rate:
            delay = began + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)  # let the loop flush sockets, as the sequencer's would
        items = batches[index % len(batches)]
        for payload in items:
            writer.append(sequence, payload)
            sequence += 1
        writer.flush()
        published[index] = time.monotonic_ns()
        publisher.publish(committed_batch(sequence - len(items), items))
        index += 1
    cpu = time.process_time() - began_cpu
    thread = time.thread_time() - began_thread
    elapsed = time.perf_counter() - began
    last.value = sequence - 1
    results.put({"batches": index, "records": sequence - 1, "cpu_s": cpu, "thread_s": thread,
                 "seconds": elapsed,
                 "dropped_consumers": publisher.dropped})  # fmt: skip
    await asyncio.to_thread(control.get, True, 300)
    publisher.close()
    await writer.close()


def _core_process(config: dict[str, Any], shared: tuple[Any, Any], queues: tuple[Any, ...]) -> None:
    uvloop.run(_core(config, shared, queues))


class _Source:
    """A consumer's end: committed batches as (first sequence, count), or
    None after a quiet ``_WAIT_MS``; ``closed`` once the core let it go."""

    def __init__(self, kind: str, address: str) -> None:
        self.kind = kind
        self.closed = False
        self._context = zmq.Context()
        self._sub: zmq.Socket[bytes] | None = None
        self._poller = zmq.Poller()
        self._frames = FrameBuffer()
        self._pending: list[bytes] = []
        if kind == "zmq":
            self._sub = self._context.socket(zmq.SUB)
            self._sub.setsockopt(zmq.RCVHWM, HIGH_WATER_MARK)
            self._sub.connect(address)
            self._sub.setsockopt(zmq.SUBSCRIBE, b"")
            self._poller.register(self._sub, zmq.POLLIN)
        elif kind == "uds":
            self._socket = _connect_unix(address)
            self._poller.register(self._socket, zmq.POLLIN)

    def receive(self) -> tuple[int, int] | None:
        if self._sub is not None:
            if not self._poller.poll(_WAIT_MS):
                return None
            first, items = read_committed(self._sub.recv())
            return first, len(items)
        if not self._pending:
            if not self._poller.poll(_WAIT_MS):
                return None
            data = self._socket.recv(1 << 20)
            if not data:
                self.closed = True
                return None
            self._pending = self._frames.feed(data)
            if not self._pending:
                return None
        first, items = read_committed(self._pending.pop(0))
        return first, len(items)

    def close(self) -> None:
        if self._sub is not None:
            self._sub.close(linger=0)
        if self.kind == "uds":
            self._socket.close()
        self._context.term()


def _connect_unix(address: str) -> socket.socket:
    """A connection to the core, which starts at the same time: until it
    listens, the path is missing or refuses."""
    deadline = time.monotonic() + 60
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
        else:
            return connection


class _Consumer:
    """Keeps the next sequence wanted; what the transport skips, the journal gives."""

    def __init__(self, journal: Path, batch: int) -> None:
        self.journal = journal
        self.batch = batch
        self.next_sequence = 1
        self.received = 0
        self.caught_up = 0
        self.arrivals: dict[int, int] = {}
        self._tail: JournalTail | None = None

    def _arrived(self, first: int, count: int) -> None:
        now = time.monotonic_ns()
        start = first + (-(first - 1)) % self.batch
        for sequence in range(start, first + count, self.batch):
            self.arrivals.setdefault((sequence - 1) // self.batch, now)
        self.next_sequence = first + count

    def delivered(self, first: int, count: int) -> None:
        if first > self.next_sequence:
            self.catch_up(first - 1)
        skip = max(0, self.next_sequence - first)
        if skip < count:
            self.received += count - skip
            self._arrived(first + skip, count - skip)

    def catch_up(self, up_to: int | None) -> int:
        """Read the journal from ``next_sequence`` on, through ``up_to`` if given."""
        if self._tail is None or self._tail.next_sequence != self.next_sequence:
            self._tail = JournalTail(self.journal, self.next_sequence - 1)
        records = self._tail.read(100_000, up_to)
        if records:
            self.caught_up += len(records)
            self._arrived(records[0][0], len(records))
        return len(records)


def _consume(config: dict[str, Any], shared: tuple[Any, Any], queues: tuple[Any, ...]) -> None:
    published, last = shared
    ready, results = queues
    kind, slow = config["kind"], config["slow"]
    source = _Source(kind, config["address"]) if kind in ("zmq", "uds") else None
    consumer = _Consumer(Path(config["journal"]), config["batch"])
    watch = None
    if kind == "journal-inotify":
        watch = INotify()
        watch.add_watch(config["journal"], flags.MODIFY | flags.CREATE)
    ready.put(True)
    deadline = time.monotonic() + config["duration"] + 60
    began_cpu = time.process_time()
    while time.monotonic() < deadline:
        end = last.value
        if end and consumer.next_sequence > end:
            break
        got = None if source is None or source.closed else source.receive()
        if got is not None:
            consumer.delivered(*got)
            if slow:
                time.sleep(SLOW_SLEEP)
            continue
        # Nothing came: the journal holds what the transport did not bring.
        if source is None or source.closed or end:
            if consumer.catch_up(end or None):
                if slow:
                    time.sleep(SLOW_SLEEP)
            elif watch is not None:
                # Events queued since the last read wake this at once: none is lost.
                watch.read(timeout=_WAIT_MS)
            else:
                time.sleep(POLL_INTERVAL)
    cpu = time.process_time() - began_cpu
    finished = time.monotonic_ns()
    histogram = HdrHistogram(1, _MAX_US, 3)
    for index, arrived in consumer.arrivals.items():
        histogram.record_value(min(max(1, (arrived - published[index]) // 1000), _MAX_US))
    if source is not None:
        source.close()
    if watch is not None:
        watch.close()
    results.put({"slow": slow, "received": consumer.received, "caught_up": consumer.caught_up,
                 "complete": consumer.next_sequence > last.value, "cpu_s": cpu,
                 "finished_ns": finished, "histogram": histogram.encode()})  # fmt: skip


def run(
    kind: str,
    payloads: list[bytes],
    *,
    batch: int,
    batches_per_sec: float,
    duration: float,
    consumers: int,
    slow: bool = False,
) -> dict[str, Any]:
    """One candidate against ``consumers`` fresh consumer processes;
    ``batches_per_sec`` 0 publishes as fast as the core can."""
    if kind not in CANDIDATES:
        raise ValueError(f"unknown transport {kind!r}")
    spawn = multiprocessing.get_context("spawn")
    capacity = int(duration * (batches_per_sec or 50_000)) + 1
    published = spawn.Array("q", capacity, lock=False)
    last = spawn.Value("q", 0, lock=False)
    ready, control, results, reports = (spawn.Queue() for _ in range(4))
    children = []
    with (
        tempfile.TemporaryDirectory(prefix="stx-ipc-journal-") as journal,
        scratch_address(kind == "zmq", "feed") as address,
    ):
        config = {"kind": kind, "address": address, "journal": journal, "batch": batch,
                  "payloads": payloads, "batches_per_sec": batches_per_sec,
                  "duration": duration, "slow": False}  # fmt: skip
        core = spawn.Process(
            target=_core_process,
            args=(config, (published, last), (ready, control, results)),
            daemon=True,
        )
        children.append(core)
        core.start()
        try:
            for number in range(consumers):
                mine = {**config, "payloads": [], "slow": slow and number == 0}
                child = spawn.Process(
                    target=_consume, args=(mine, (published, last), (ready, reports)), daemon=True
                )
                children.append(child)
                child.start()
            for _ in range(consumers + 1):  # the core has bound, the consumers connected
                wait_for(ready, children, 60)
            time.sleep(0.3)  # subscriptions and connections reach the core
            control.put("go")
            core_figures = wait_for(results, children, duration + 60)
            seen = [wait_for(reports, children, duration + 90) for _ in range(consumers)]
            control.put("exit")
            for child in children:
                child.join(10)
        finally:
            for child in children:
                if child.is_alive():
                    child.terminate()
                    child.join()
    return _summary(core_figures, seen, list(published[: core_figures["batches"]]), batch)


def _summary(
    core: dict[str, Any], seen: list[dict[str, Any]], published: list[int], batch: int
) -> dict[str, Any]:
    keeping_up = [report for report in seen if not report["slow"]]
    merged = HdrHistogram(1, _MAX_US, 3)
    for report in keeping_up:
        merged.decode_and_add(report["histogram"])
    records = core["records"]
    last_done = max(report["finished_ns"] for report in seen)
    return {
        "batch": batch,
        "batches": core["batches"],
        "published_per_sec": records / core["seconds"],
        "delivered_per_sec": records / ((last_done - published[0]) / 1e9),
        "core_cpu_us_per_batch": core["cpu_s"] / core["batches"] * 1e6,
        "core_cpu_us_per_record": core["cpu_s"] / records * 1e6,
        "core_loop_cpu_us_per_batch": core["thread_s"] / core["batches"] * 1e6,
        "consumer_cpu_us_per_record": sum(r["cpu_s"] for r in keeping_up)
        / len(keeping_up)
        / records
        * 1e6,
        "p50_us": merged.get_value_at_percentile(50),
        "p99_us": merged.get_value_at_percentile(99),
        "max_us": merged.get_max_value(),
        "caught_up_records": sum(report["caught_up"] for report in seen),
        "slow_caught_up_records": sum(report["caught_up"] for report in seen if report["slow"]),
        "dropped_consumers": core["dropped_consumers"],
        "all_complete": all(report["complete"] for report in seen),
    }
