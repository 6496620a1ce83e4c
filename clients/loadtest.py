"""``stx loadtest``: open-loop load on the order stream, honestly timed.

Arrival times are scheduled before the run at the offered rate, and each
order's latency is measured from its *scheduled* send time to its
acknowledgement (the NEW report), so a server that falls behind shows up as
latency instead of silently lowering the load (no coordinated omission).
K concurrent streams share the rate; each message carries B orders. Orders
are prepared before the clock starts so the harness measures the server,
not message building.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram
from stocktraderx.v1 import (
    common_pb2,
    orders_pb2,
    orders_pb2_grpc,
    reference_data_pb2,
    reference_data_pb2_grpc,
)

from clients.sdk import AsyncExchangeClient
from clients.session import bearer
from clients.transport import ClientTls, aio_channel

MAX_LATENCY_US = 60_000_000
LOAD_CASH = 1_000_000_000_000_0000
"""Each load account's cash: enough that buying power never refuses an order."""


@dataclass(frozen=True)
class LoadSpec:
    target: str
    rate: float
    duration: float
    streams: int = 1
    batch: int = 1
    crossing: float = 0.1
    """Share of new orders priced to trade at once (the rest rest passively)."""
    cancel: float = 0.0
    """Share of commands that cancel one of the stream's resting orders."""
    seed: int = 1
    token: str | None = None
    """An access token allowed to trade on LOAD0, LOAD1, ... and to prepare
    them (limits, cash): an administrator's."""
    tls: ClientTls | None = None
    """TLS to the exchange (None: plaintext)."""


@dataclass
class LoadResult:
    offered: int
    acknowledged: int
    errors: int
    elapsed: float
    histogram: HdrHistogram

    @property
    def orders_per_sec(self) -> float:
        return self.acknowledged / self.elapsed if self.elapsed else 0.0

    def percentile_us(self, percentile: float) -> int:
        value: int = self.histogram.get_value_at_percentile(percentile)
        return value

    def as_json(self) -> dict[str, float | int]:
        return {
            "orders_per_sec": round(self.orders_per_sec, 1),
            "offered": self.offered,
            "acknowledged": self.acknowledged,
            "p50_us": self.percentile_us(50),
            "p90_us": self.percentile_us(90),
            "p99_us": self.percentile_us(99),
            "p999_us": self.percentile_us(99.9),
            "max_us": int(self.histogram.get_max_value()),
            "errors": self.errors,
        }


def _prepare(
    spec: LoadSpec, run: str, stream: int, messages: int, symbol: str, tick: int, mid: int
) -> list[orders_pb2.OrderStreamRequest]:
    rng = random.Random(spec.seed * 1_000 + stream)
    prepared = []
    for message in range(messages):
        commands = []
        for position in range(spec.batch):
            buy = rng.random() < 0.5
            if rng.random() < spec.crossing:
                price = mid + tick if buy else mid - tick
            else:
                offset = tick * rng.randint(2, 20)
                price = mid - offset if buy else mid + offset
            commands.append(
                orders_pb2.OrderCommand(
                    place=orders_pb2.PlaceOrderRequest(
                        account_id=f"LOAD{stream}",
                        client_order_id=f"{run}-{stream}-{message}-{position}",
                        symbol=symbol,
                        side=common_pb2.SIDE_BUY if buy else common_pb2.SIDE_SELL,
                        order_type=common_pb2.ORDER_TYPE_LIMIT,
                        time_in_force=common_pb2.TIME_IN_FORCE_IOC
                        if rng.random() < spec.crossing
                        else common_pb2.TIME_IN_FORCE_DAY,
                        quantity=100,
                        price=price,
                    )
                )
            )
        prepared.append(orders_pb2.OrderStreamRequest(commands=commands))
    return prepared


async def run_load(spec: LoadSpec, progress: Callable[[float], None] | None = None) -> LoadResult:
    if spec.rate <= 0 or spec.duration <= 0 or spec.streams < 1 or spec.batch < 1:
        raise ValueError("rate, duration, streams and batch must be positive")
    histogram = HdrHistogram(1, MAX_LATENCY_US, 3)
    async with aio_channel(spec.target, spec.tls) as channel:
        reference = reference_data_pb2_grpc.ReferenceDataServiceStub(channel)
        listing = await reference.ListInstruments(
            reference_data_pb2.ListInstrumentsRequest(page_size=1000), timeout=10
        )
        instrument = next(
            (item for item in listing.instruments if item.lot_size == 1 and item.symbol != "BRK.A"),
            None,
        )
        if instrument is None:
            raise ValueError("the exchange lists no instrument to load")
        per_stream = spec.rate / spec.streams / spec.batch
        messages = max(1, int(per_stream * spec.duration))
        # Client order ids are unique per account for good: a fresh run id
        # keeps a second load test on the same server from colliding.
        run = uuid.uuid4().hex[:8]
        plans = [
            _prepare(spec, run, stream, messages, instrument.symbol, instrument.tick_size,
                     instrument.reference_price)
            for stream in range(spec.streams)
        ]  # fmt: skip
        async with AsyncExchangeClient(spec.target, token=spec.token, tls=spec.tls) as client:
            for stream in range(spec.streams):
                await client.prepare_account(f"LOAD{stream}", LOAD_CASH, "load test")
        stub = orders_pb2_grpc.OrderServiceStub(channel)
        start = time.perf_counter() + 0.2
        counts = [0, 0]
        await asyncio.gather(
            *(
                _stream(stub, plan, start, 1 / per_stream, histogram, counts, progress, spec, index)
                for index, plan in enumerate(plans)
            )
        )
        elapsed = time.perf_counter() - start
    return LoadResult(
        offered=spec.streams * messages * spec.batch,
        acknowledged=counts[0],
        errors=counts[1],
        elapsed=elapsed,
        histogram=histogram,
    )


class _Resting:
    """This stream's orders that may still rest, oldest first, for cancels."""

    def __init__(self) -> None:
        self.order: deque[int] = deque()
        self.gone: set[int] = set()

    def take(self) -> int | None:
        while self.order:
            order_id = self.order.popleft()
            if order_id not in self.gone:
                return order_id
            self.gone.discard(order_id)
        return None


async def _stream(
    stub: orders_pb2_grpc.OrderServiceAsyncStub,
    plan: list[orders_pb2.OrderStreamRequest],
    start: float,
    interval: float,
    histogram: HdrHistogram,
    counts: list[int],
    progress: Callable[[float], None] | None,
    spec: LoadSpec,
    stream: int,
) -> None:
    scheduled = [start + index * interval for index in range(len(plan))]
    rng = random.Random(spec.seed * 7_919 + stream)
    resting = _Resting()
    cancels: dict[int, float] = {}
    """Order id -> scheduled send time of the cancel sent for it."""

    async def requests() -> AsyncIterator[orders_pb2.OrderStreamRequest]:
        for index, message in enumerate(plan):
            delay = scheduled[index] - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for command in message.commands:
                if rng.random() >= spec.cancel:
                    continue
                order_id = resting.take()
                if order_id is None:
                    break
                # The oneof switches this slot from a new order to a cancel.
                command.cancel.CopyFrom(
                    orders_pb2.CancelOrderRequest(order_id=order_id, account_id=f"LOAD{stream}")
                )
                cancels[order_id] = scheduled[index]
            yield message

    def record(sent: float, now: float) -> None:
        latency = int((now - sent) * 1_000_000)
        histogram.record_value(min(max(latency, 1), MAX_LATENCY_US))
        counts[0] += 1

    expected = len(plan) * spec.batch
    seen = 0
    day = common_pb2.TIME_IN_FORCE_DAY
    async for response in stub.OrderStream(requests(), metadata=bearer(spec.token)):
        now = time.perf_counter()
        for report in response.reports:
            kind = report.exec_type
            if kind == orders_pb2.EXEC_TYPE_NEW:
                record(scheduled[int(report.client_order_id.split("-")[2])], now)
                seen += 1
                if report.time_in_force == day:
                    resting.order.append(report.order_id)
            elif report.order_id in cancels and kind in _CANCEL_ANSWERS:
                record(cancels.pop(report.order_id), now)
                seen += 1
            elif kind == orders_pb2.EXEC_TYPE_REJECTED:
                counts[1] += 1
                seen += 1
            elif kind == orders_pb2.EXEC_TYPE_FILL:
                resting.gone.add(report.order_id)
        if progress is not None:
            progress(min(1.0, (now - start) / spec.duration))
        if seen >= expected:
            break


_CANCEL_ANSWERS = frozenset((orders_pb2.EXEC_TYPE_CANCELED, orders_pb2.EXEC_TYPE_CANCEL_REJECTED))
