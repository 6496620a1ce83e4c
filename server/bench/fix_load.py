"""Open-loop NewOrderSingle load over several FIX sessions, honestly timed.

The FIX counterpart of ``clients.loadtest``: the same order mix (a share
priced to trade at once with IOC, the rest resting DAY orders a few ticks off
the reference price, 100 shares each), arrival times scheduled before the
run at the offered rate, and each order's latency measured from its
*scheduled* send time to its ExecutionReport with ExecType 0 (new), so a
gateway that falls behind shows up as latency rather than as a lower load.
Each session is one asyncio initiator over its own TCP connection, speaking
FIX 4.4 with the gateway's own codec; every message is encoded before the
clock starts, so the harness measures the gateway, not message building.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hdrh.histogram import HdrHistogram

from clients.loadtest import MAX_LATENCY_US, LoadResult
from server.gateways.fix.codec import Framer, encode

BEGIN_STRING = "FIX.4.4"
OURS = "STX"
"""The acceptor's SenderCompID in the benchmark's sessions."""
LOGON_TIMEOUT = 30.0
HEARTBEAT_SECONDS = 30
"""HeartBtInt of the sessions: a gateway still working through the orders
after the last one was sent would otherwise log the silent session out."""


def session_name(index: int) -> str:
    """The counterparty's CompID of session ``index``, and its account."""
    return f"FIXLOAD{index}"


@dataclass(frozen=True)
class FixLoad:
    port: int
    rate: float
    """Orders per second offered, over all sessions."""
    duration: float
    sessions: int
    symbol: str
    tick: int
    mid: int
    crossing: float = 0.1
    seed: int = 1


class FixLoadError(RuntimeError):
    """A session could not log on or was cut during the load."""


def _price(units: int) -> str:
    whole, fraction = divmod(units, 10_000)
    return f"{whole}.{fraction:04d}"


class _Initiator:
    """One session: its prepared orders, their schedule, its connection."""

    def __init__(self, load: FixLoad, index: int, run: str, orders: int) -> None:
        self.name = session_name(index)
        self.seq = 0
        # One SendingTime for the whole run: the gateway accepts 120 s of skew.
        self.now = datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]
        self.interval = load.sessions / load.rate
        self.scheduled: list[float] = []
        self.all_sent = False
        """Every order is written: messages made from now on come after them."""
        rng = random.Random(load.seed * 1_000 + index)
        # Numbered first: the Logon is the session's message 1 (a reset Logon).
        self.logon = self.message("A", (98, "0"), (108, str(HEARTBEAT_SECONDS)), (141, "Y"))
        self.frames = [self._order(load, rng, f"{run}-{number}") for number in range(orders)]

    def message(self, msg_type: str, *body: tuple[int, str]) -> bytes:
        self.seq += 1
        header = [(8, BEGIN_STRING), (35, msg_type), (34, str(self.seq)), (49, self.name),
                  (52, self.now), (56, OURS)]  # fmt: skip
        return encode(header + list(body))

    def _order(self, load: FixLoad, rng: random.Random, cl_ord_id: str) -> bytes:
        buy = rng.random() < 0.5
        crossing = rng.random() < load.crossing
        if crossing:
            price = load.mid + load.tick if buy else load.mid - load.tick
        else:
            offset = load.tick * rng.randint(2, 20)
            price = load.mid - offset if buy else load.mid + offset
        return self.message(
            "D", (1, self.name), (11, cl_ord_id), (38, "100"), (40, "2"), (44, _price(price)),
            (54, "1" if buy else "2"), (55, load.symbol), (59, "3" if crossing else "0"),
            (60, self.now),
        )  # fmt: skip


def _fields(frame: bytes) -> dict[bytes, bytes]:
    """The fields of a frame this harness reads (tags as bytes, no validation)."""
    return dict(pair.split(b"=", 1) for pair in frame.split(b"\x01") if pair)


async def _read(reader: asyncio.StreamReader, framer: Framer) -> dict[bytes, bytes]:
    while True:
        frame = framer.next_frame()
        if frame is not None:
            return _fields(frame)
        data = await reader.read(1 << 16)
        if not data:
            raise FixLoadError("the gateway closed a session's connection")
        framer.feed(data)


async def _session(
    initiator: _Initiator, port: int, histogram: HdrHistogram, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framer = Framer.empty()
    try:
        writer.write(initiator.logon)
        logon = await asyncio.wait_for(_read(reader, framer), LOGON_TIMEOUT)
        if logon.get(b"35") != b"A":
            raise FixLoadError(f"{initiator.name}: Logon answered with {logon!r}")
        sender = asyncio.get_running_loop().create_task(_send(initiator, writer))
        try:
            await _acknowledgements(initiator, reader, writer, framer, histogram, counts)
        finally:
            sender.cancel()
        writer.write(initiator.message("5"))
        await writer.drain()
    finally:
        writer.close()


async def _acknowledgements(
    initiator: _Initiator,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    framer: Framer,
    histogram: HdrHistogram,
    counts: list[int],
) -> None:
    """Until every order is acknowledged (ExecType 0) or rejected (ExecType 8)."""
    scheduled = initiator.scheduled
    seen = 0
    while seen < len(scheduled):
        fields = await _read(reader, framer)
        now = time.perf_counter()
        if fields.get(b"35") == b"1" and initiator.all_sent:
            # A TestRequest while the orders are still going out needs no answer:
            # they are traffic enough. Later, numbered after them, it gets one.
            test = fields.get(b"112", b"").decode()
            writer.write(initiator.message("0", (112, test)))
        if fields.get(b"35") != b"8":
            continue
        kind = fields.get(b"150")
        if kind == b"0":
            sent = scheduled[int(fields[b"11"].rsplit(b"-", 1)[1])]
            latency = int((now - sent) * 1_000_000)
            histogram.record_value(min(max(latency, 1), MAX_LATENCY_US))
            counts[0] += 1
            seen += 1
        elif kind == b"8":
            counts[1] += 1
            seen += 1


async def _send(initiator: _Initiator, writer: asyncio.StreamWriter) -> None:
    """Every order at its scheduled time: all those due at once in one write."""
    scheduled, frames = initiator.scheduled, initiator.frames
    sent = 0
    while sent < len(frames):
        delay = scheduled[sent] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        due = sent
        while due < len(frames) and scheduled[due] <= now:
            due += 1
        writer.write(b"".join(frames[sent:due]))
        sent = due
        await writer.drain()
    initiator.all_sent = True
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        writer.write(initiator.message("0"))


async def run_fix_load(load: FixLoad) -> LoadResult:
    """The load over ``load.sessions`` sessions; its figures as ``stx loadtest``'s."""
    if load.rate <= 0 or load.duration <= 0 or load.sessions < 1:
        raise ValueError("rate, duration and sessions must be positive")
    histogram = HdrHistogram(1, MAX_LATENCY_US, 3)
    orders = max(1, int(load.rate / load.sessions * load.duration))
    # ClOrdIDs are unique per account for good: a fresh run id per load.
    run = uuid.uuid4().hex[:8]
    initiators = [_Initiator(load, index, run, orders) for index in range(load.sessions)]
    # Time for every session to log on before the first order is due.
    start = time.perf_counter() + 0.5 + load.sessions * 0.05
    for initiator in initiators:
        initiator.scheduled = [start + n * initiator.interval for n in range(orders)]
    counts = [0, 0]
    await asyncio.gather(*(_session(i, load.port, histogram, counts) for i in initiators))
    return LoadResult(
        offered=orders * load.sessions,
        acknowledged=counts[0],
        errors=counts[1],
        elapsed=time.perf_counter() - start,
        histogram=histogram,
    )
