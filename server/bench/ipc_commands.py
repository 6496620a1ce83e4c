"""Flow A of the process split: gateway -> core commands, core -> gateway reports.

The core runs in a child process on uvloop, as the sequencer would, and
does only what the split adds to its work: split each command batch, number
the commands (their sequences) and send one report batch back. The gateway
(this process, also uvloop) drives it two ways:

- ``latency``: one command a message on an open-loop schedule at a fixed
  rate, as ``stx loadtest`` drives one order stream; latency runs from each
  command's scheduled send time to its report;
- ``throughput``: batches of commands as fast as a window of batches in
  flight allows; latency is each batch's round trip.

Candidates: ZeroMQ DEALER -> ROUTER over ``ipc://`` and asyncio Unix domain
sockets with length-prefixed frames. CPU time (``process_time``, every
thread of the process: ZeroMQ's I/O thread included) is reported per command
for each side, and for the core also that of its event loop's thread alone
(``thread_time``), the thread the sequencer would share.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from typing import Any, Protocol, cast

import uvloop
import zmq
import zmq.asyncio
from hdrh.histogram import HdrHistogram

from server.bench.ipc_frames import (
    FrameBuffer,
    command_batch,
    length_prefixed,
    read_command_batch,
    read_report_header,
    report_batch,
    scratch_address,
    wait_for,
)

CANDIDATES = ("zmq", "zmq.asyncio", "uds")
_STOP = b""
_MAX_US = 60_000_000


class _Core:
    """What the core does per command batch, and what that costs it."""

    def __init__(self) -> None:
        self.next_sequence = 1
        self.frames = 0
        self._began = self._began_thread = 0.0

    def handle(self, frame: bytes) -> bytes:
        if not self.frames:
            self._began, self._began_thread = time.process_time(), time.thread_time()
        self.frames += 1
        first_request, commands = read_command_batch(frame)
        reply = report_batch(first_request, self.next_sequence, commands)
        self.next_sequence += len(commands)
        return reply

    def stop(self) -> dict[str, float | int]:
        cpu = time.process_time() - self._began
        thread = time.thread_time() - self._began_thread
        return {"commands": self.next_sequence - 1, "frames": self.frames, "cpu_s": cpu,
                "thread_s": thread}  # fmt: skip


async def _core_zmq(address: str, ready: Any, results: Any) -> None:
    context = zmq.asyncio.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.SNDHWM, 0)  # the gateway bounds what it has in flight
    router.setsockopt(zmq.RCVHWM, 0)
    router.bind(address)
    ready.put(True)
    core = _Core()
    while True:
        identity, frame = await router.recv_multipart()
        if frame == _STOP:
            results.put(core.stop())
            await router.send_multipart([identity, _STOP])
            break
        await router.send_multipart([identity, core.handle(frame)])
    router.close(linger=1000)
    context.term()


class _CoreStream(asyncio.Protocol):
    def __init__(self, core: _Core, stopped: asyncio.Future[None]) -> None:
        self._core = core
        self._stopped = stopped
        self._frames = FrameBuffer()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        for frame in self._frames.feed(data):
            if frame == _STOP:
                self._stopped.set_result(None)
                return
            self._transport.write(length_prefixed(self._core.handle(frame)))


async def _core_uds(address: str, ready: Any, results: Any) -> None:
    core = _Core()
    stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    server = await asyncio.get_running_loop().create_unix_server(
        lambda: _CoreStream(core, stopped), address
    )
    ready.put(True)
    await stopped
    results.put(core.stop())
    server.close()


async def _core_zmq_reader(address: str, ready: Any, results: Any) -> None:
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.SNDHWM, 0)
    router.setsockopt(zmq.RCVHWM, 0)
    router.bind(address)
    core = _Core()
    stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def drain() -> None:
        while not stopped.done():
            try:
                identity, frame = router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frame == _STOP:
                results.put(core.stop())
                router.send_multipart([identity, _STOP])
                stopped.set_result(None)
                return
            router.send_multipart([identity, core.handle(frame)])

    readable(router, drain)
    ready.put(True)
    await stopped
    asyncio.get_running_loop().remove_reader(router.FD)
    router.close(linger=1000)
    context.term()


def readable(socket: zmq.Socket[bytes], drain: Callable[[], None]) -> None:
    """Call ``drain`` whenever ``socket`` may have messages to receive.

    A ZeroMQ socket's file descriptor signals edges, not levels: ``drain``
    must receive until ``zmq.Again``; it is also called once now, for what
    arrived before the reader was added, and a sender must check the
    socket's events after each send, which can consume the edge."""
    loop = asyncio.get_running_loop()
    loop.add_reader(socket.FD, drain)
    loop.call_soon(drain)


def _core_process(kind: str, address: str, ready: Any, results: Any) -> None:
    serves = {"zmq": _core_zmq_reader, "zmq.asyncio": _core_zmq, "uds": _core_uds}
    serve = serves[kind]
    uvloop.run(serve(address, ready, results))


class _Gateway(Protocol):
    on_reply: Callable[[bytes], None]

    async def send(self, frame: bytes) -> None: ...

    async def close(self) -> None: ...


class _ZmqGateway:
    def __init__(self, address: str) -> None:
        self._context = zmq.asyncio.Context()
        self._dealer = self._context.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.SNDHWM, 0)
        self._dealer.setsockopt(zmq.RCVHWM, 0)
        self._dealer.connect(address)
        self.on_reply: Callable[[bytes], None] = lambda frame: None
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            frame = await self._dealer.recv()
            if frame == _STOP:
                return
            self.on_reply(frame)

    async def send(self, frame: bytes) -> None:
        await self._dealer.send(frame)

    async def close(self) -> None:
        await self._dealer.send(_STOP)
        await self._reader
        self._dealer.close(linger=0)
        self._context.term()


class _ZmqReaderGateway:
    """A plain ZeroMQ socket on the event loop: sends never wait (no high-water
    mark; the window bounds what is in flight), receipts drain the socket."""

    def __init__(self, address: str) -> None:
        self._context = zmq.Context()
        self._dealer = self._context.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.SNDHWM, 0)
        self._dealer.setsockopt(zmq.RCVHWM, 0)
        self._dealer.connect(address)
        self.on_reply: Callable[[bytes], None] = lambda frame: None
        self._stopped = asyncio.get_running_loop().create_future()
        readable(self._dealer, self._drain)

    def _drain(self) -> None:
        while not self._stopped.done():
            try:
                frame = self._dealer.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frame == _STOP:
                self._stopped.set_result(None)
                return
            self.on_reply(frame)

    async def send(self, frame: bytes) -> None:
        self._dealer.send(frame, zmq.NOBLOCK)
        if cast(int, self._dealer.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            asyncio.get_running_loop().call_soon(self._drain)

    async def close(self) -> None:
        self._dealer.send(_STOP)
        await self._stopped
        asyncio.get_running_loop().remove_reader(self._dealer.FD)
        self._dealer.close(linger=0)
        self._context.term()


class _StreamGateway(asyncio.Protocol):
    def __init__(self) -> None:
        self._frames = FrameBuffer()
        self.on_reply: Callable[[bytes], None] = lambda frame: None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        for frame in self._frames.feed(data):
            self.on_reply(frame)

    async def send(self, frame: bytes) -> None:
        assert self._transport is not None
        self._transport.write(length_prefixed(frame))

    async def close(self) -> None:
        assert self._transport is not None
        self._transport.write(length_prefixed(_STOP))
        self._transport.close()


async def _connect(kind: str, address: str) -> _Gateway:
    if kind == "zmq":
        return _ZmqReaderGateway(address)
    if kind == "zmq.asyncio":
        return _ZmqGateway(address)
    _, protocol = await asyncio.get_running_loop().create_unix_connection(_StreamGateway, address)
    return protocol


def _percentiles(histogram: HdrHistogram) -> dict[str, int]:
    return {
        "p50_us": histogram.get_value_at_percentile(50),
        "p99_us": histogram.get_value_at_percentile(99),
        "max_us": histogram.get_max_value(),
    }


async def _latency(
    gateway: _Gateway, payloads: list[bytes], rate: float, count: int
) -> dict[str, Any]:
    histogram = HdrHistogram(1, _MAX_US, 3)
    start = time.perf_counter() + 0.1
    scheduled = [start + index / rate for index in range(count)]
    received = 0
    done = asyncio.get_running_loop().create_future()

    def on_reply(frame: bytes) -> None:
        nonlocal received
        arrived = time.perf_counter()
        first, replies = read_report_header(frame)
        for request in range(first, first + replies):
            histogram.record_value(min(max(1, int((arrived - scheduled[request]) * 1e6)), _MAX_US))
        received += replies
        if received == count:
            done.set_result(None)

    gateway.on_reply = on_reply
    began = time.process_time()
    for index in range(count):
        delay = scheduled[index] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await gateway.send(command_batch(index, [payloads[index % len(payloads)]]))
    await done
    cpu = time.process_time() - began
    elapsed = time.perf_counter() - start
    return {"commands": count, "commands_per_sec": count / elapsed, "gateway_cpu_s": cpu,
            **_percentiles(histogram)}  # fmt: skip


async def _throughput(
    gateway: _Gateway, payloads: list[bytes], batch: int, window: int, duration: float
) -> dict[str, Any]:
    histogram = HdrHistogram(1, _MAX_US, 3)
    slots = asyncio.Semaphore(window)
    sent_at: dict[int, float] = {}
    received = 0

    def on_reply(frame: bytes) -> None:
        nonlocal received
        first, replies = read_report_header(frame)
        rtt = time.perf_counter() - sent_at.pop(first)
        histogram.record_value(min(max(1, int(rtt * 1e6)), _MAX_US))
        received += replies
        slots.release()

    gateway.on_reply = on_reply
    batches = [
        payloads[offset : offset + batch] for offset in range(0, len(payloads) - batch + 1, batch)
    ]
    began_cpu = time.process_time()
    began = time.perf_counter()
    sent = 0
    while time.perf_counter() - began < duration:
        await slots.acquire()
        sent_at[sent] = time.perf_counter()
        await gateway.send(command_batch(sent, batches[(sent // batch) % len(batches)]))
        sent += batch
    for _ in range(window):
        await slots.acquire()
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - began_cpu
    return {"commands": received, "commands_per_sec": received / elapsed,
            "gateway_cpu_s": cpu, **_percentiles(histogram)}  # fmt: skip


def run(kind: str, mode: str, payloads: list[bytes], **drive: Any) -> dict[str, Any]:
    """One candidate, one mode, against a fresh core process."""
    if kind not in CANDIDATES:
        raise ValueError(f"unknown transport {kind!r}")
    spawn = multiprocessing.get_context("spawn")
    ready, results = spawn.Queue(), spawn.Queue()
    with scratch_address(kind.startswith("zmq"), "core") as address:
        core = spawn.Process(
            target=_core_process, args=(kind, address, ready, results), daemon=True
        )
        core.start()
        try:
            wait_for(ready, [core], 60)

            async def gateway_side() -> dict[str, Any]:
                gateway = await _connect(kind, address)
                if mode == "latency":
                    figures = await _latency(gateway, payloads, **drive)
                else:
                    figures = await _throughput(gateway, payloads, **drive)
                await gateway.close()
                return figures

            figures = uvloop.run(gateway_side())
            core_figures = wait_for(results, [core], 60)
            core.join(10)
        finally:
            if core.is_alive():
                core.terminate()
                core.join()
    commands = figures.pop("commands")
    if core_figures["commands"] != commands:
        raise RuntimeError(f"the core numbered {core_figures['commands']} of {commands} commands")
    gateway_cpu = figures.pop("gateway_cpu_s")
    return {
        **figures,
        "commands": commands,
        "gateway_cpu_us_per_command": gateway_cpu / commands * 1e6,
        "core_cpu_us_per_command": core_figures["cpu_s"] / commands * 1e6,
        "core_loop_cpu_us_per_command": core_figures["thread_s"] / commands * 1e6,
    }
