"""Latency over the day against values computed by hand: a journal whose
commands carry the gateway's time in their origin (as the core's link
journals them), turned into the store's ``latencies`` and percentiles.

Day 2026-03-02, five-minute intervals:
  14:30:00  MM sells 100 @ 190.00 through grpc, made 100 us before sequencing
  14:30:01  T buys 10 @ 180.00 through grpc, 300 us
  14:30:02  T cancels it through rest, 200 us
  14:31:00  T buys 10 @ 180.00 with an origin but no gateway time (an old record): no row
  14:31:01  T buys 10 @ 180.00 with no origin (the exchange's own): no row
  14:36:00  MM sells 100 @ 191.00 through grpc, 1 ms
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import pytest
from stocktraderx.v1 import analytics_pb2 as pb

from matching import CancelOrder, FundAccount, NewOrder, OrderAccepted, OrderType, Side, TimeInForce
from server.bench.workload import instruments
from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.latency import latency_percentiles
from server.consumers.analytics.store import AnalyticsStore
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import Origin
from tests.server.consumers.analytics.crafted import DAY_1, SECOND, Clock

OPEN = int(datetime.datetime(2026, 3, 2, 14, 30, tzinfo=datetime.UTC).timestamp()) * SECOND
MICRO = 1_000


def _journal(directory: Path) -> int:
    async def run() -> int:
        clock = Clock(OPEN - 60 * SECOND)
        core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE, clock=clock)
        sequencer = core.sequencer
        for account in ("T", "MM"):
            sequencer.submit(FundAccount(clock.now, account, 10_000_000 * 10_000))

        def at(moment: int, command: NewOrder | CancelOrder, origin: Origin | None) -> int:
            clock.now = moment
            applied = sequencer.submit(command._replace(timestamp=moment), "", origin)
            accepted = [event for event in applied.events if isinstance(event, OrderAccepted)]
            return accepted[0].order_id if accepted else 0

        def order(account: str, side: Side, quantity: int, price: int) -> NewOrder:
            return NewOrder(0, account, "AAPL", side, OrderType.LIMIT, quantity, price,
                            TimeInForce.GTC)  # fmt: skip

        def sent(gateway: str, moment: int, waited: int) -> Origin:
            return Origin("u", "10.0.0.1", gateway, "", moment - waited)

        at(OPEN, order("MM", Side.SELL, 100, 1_900_000), sent("grpc", OPEN, 100 * MICRO))
        resting = at(OPEN + SECOND, order("T", Side.BUY, 10, 1_800_000),
                     sent("grpc", OPEN + SECOND, 300 * MICRO))  # fmt: skip
        at(OPEN + 2 * SECOND, CancelOrder(0, "T", resting),
           sent("rest", OPEN + 2 * SECOND, 200 * MICRO))  # fmt: skip
        at(OPEN + 60 * SECOND, order("T", Side.BUY, 10, 1_800_000), Origin("u", "s", "grpc"))
        at(OPEN + 61 * SECOND, order("T", Side.BUY, 10, 1_800_000), None)
        late = OPEN + 360 * SECOND
        at(late, order("MM", Side.SELL, 100, 1_910_000), sent("grpc", late, 1_000 * MICRO))
        await sequencer.durable()
        await core.settle()
        last = sequencer.sequence
        await core.close()
        return last

    return asyncio.run(run())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> AnalyticsStore:
    directory = tmp_path_factory.mktemp("latency")
    last = _journal(directory)
    built = AnalyticsStore.open(None)
    assert rebuild(built, directory, last, batch=2) == last
    return built


def _line(line: pb.LatencyPercentiles) -> tuple[int, int, int, int, int]:
    return (line.command_count, line.p50_nanos, line.p90_nanos, line.p99_nanos, line.max_nanos)


def test_each_gateway_command_gives_one_row(store: AnalyticsStore) -> None:
    rows = (
        store.reader()
        .execute(
            "SELECT gateway, command, sequenced_time - received_time, latency_nanos "
            "FROM latencies ORDER BY sequence"
        )
        .fetchall()
    )
    assert rows == [
        ("grpc", "NewOrder", 100 * MICRO, 100 * MICRO),
        ("grpc", "NewOrder", 300 * MICRO, 300 * MICRO),
        ("rest", "CancelOrder", 200 * MICRO, 200 * MICRO),
        ("grpc", "NewOrder", 1_000 * MICRO, 1_000 * MICRO),
    ]


def test_percentiles_per_five_minutes_and_for_the_day(store: AnalyticsStore) -> None:
    answer = latency_percentiles(store.reader(), DAY_1, 300, "")
    assert (answer.date, answer.interval_seconds) == ("2026-03-02", 300)
    starts = [line.start_time.ToNanoseconds() for line in answer.intervals]
    assert starts == [OPEN, OPEN + 300 * SECOND]  # 14:30 and 14:35
    first, second = answer.intervals
    # 100, 200, 300 us: the median is the 2nd of 3, p90 and p99 the 3rd (nearest rank).
    assert _line(first) == (3, 200 * MICRO, 300 * MICRO, 300 * MICRO, 300 * MICRO)
    assert _line(second) == (1, 1_000 * MICRO, 1_000 * MICRO, 1_000 * MICRO, 1_000 * MICRO)
    # The day: 100, 200, 300, 1000 us: the 2nd of 4, then the 4th.
    assert answer.day.start_time.ToNanoseconds() == OPEN - (14 * 3600 + 1800) * SECOND
    assert _line(answer.day) == (4, 200 * MICRO, 1_000 * MICRO, 1_000 * MICRO, 1_000 * MICRO)


def test_one_gateway_an_hour_and_a_day_without_commands(store: AnalyticsStore) -> None:
    (rest,) = latency_percentiles(store.reader(), DAY_1, 300, "rest").intervals
    assert _line(rest) == (1, 200 * MICRO, 200 * MICRO, 200 * MICRO, 200 * MICRO)
    (hour,) = latency_percentiles(store.reader(), DAY_1, 3600, "").intervals
    assert hour.start_time.ToNanoseconds() == OPEN - 1800 * SECOND  # 14:00
    assert hour.command_count == 4
    quiet = latency_percentiles(store.reader(), DAY_1 + datetime.timedelta(days=1), 300, "")
    assert not quiet.intervals
    assert _line(quiet.day) == (0, 0, 0, 0, 0)


def test_the_latencies_export_as_parquet_by_day(store: AnalyticsStore, tmp_path: Path) -> None:
    store.export_parquet(tmp_path)
    (part,) = (tmp_path / "latencies").iterdir()
    assert part.name == "day=2026-03-02"
