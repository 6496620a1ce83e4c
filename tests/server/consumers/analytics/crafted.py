"""A crafted two days of AAPL between the trader ``T`` and a market maker
``MM``, journaled by a real core, whose reports are computed by hand in the
tests (prices in units of 0.0001).

2026-03-02 (day 1), T:
  buys 100 @ 190.00 (MM's resting sell) and 50 @ 192.00   -> +150, cost 28,600.00
  sells 60 @ 195.00, resting 10 s until MM buys at market -> realises 260.00
  buys 100 @ 180.00 and cancels it; sends a price off tick (refused)
2026-03-03 (day 2), T:
  sells 150 @ 200.00 (rests, MM buys)  -> closes 90 (realises 840.00), flips to -60
  buys 20 @ 198.00 (MM's resting sell) -> covers 20 (realises 40.00)
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

from matching import (
    CancelOrder,
    FundAccount,
    NewOrder,
    OrderAccepted,
    OrderType,
    RiskLimits,
    SetRiskLimits,
    Side,
    TimeInForce,
)
from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability

DAY_1 = datetime.date(2026, 3, 2)
DAY_2 = datetime.date(2026, 3, 3)
SECOND = 1_000_000_000
_OPEN_1 = int(datetime.datetime(2026, 3, 2, 14, 30, tzinfo=datetime.UTC).timestamp()) * SECOND
_OPEN_2 = _OPEN_1 + 86_400 * SECOND


class Clock:
    """The core's clock, set by the scenario."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _order(clock: Clock, account: str, side: Side, quantity: int, price: int = 0) -> NewOrder:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    force = TimeInForce.GTC if price else TimeInForce.IOC
    return NewOrder(clock.now, account, "AAPL", side, kind, quantity, price, force)


async def craft(directory: Path) -> ExchangeCore:
    """The crafted days, journaled in ``directory``; the core still open."""
    clock = Clock(_OPEN_1 - 3_600 * SECOND)
    core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE, clock=clock)
    sequencer = core.sequencer
    for account in ("T", "MM"):
        sequencer.submit(SetRiskLimits(clock.now, account, RiskLimits(allow_short_selling=True)))
        sequencer.submit(FundAccount(clock.now, account, 10_000_000 * 10_000))

    def at(moment: int, command: NewOrder | CancelOrder, client_id: str = "") -> int:
        clock.now = moment
        applied = sequencer.submit(command._replace(timestamp=moment), client_id)
        accepted = [event for event in applied.events if isinstance(event, OrderAccepted)]
        return accepted[0].order_id if accepted else 0

    buy, sell = Side.BUY, Side.SELL
    at(_OPEN_1, _order(clock, "MM", sell, 100, 1_900_000))
    at(_OPEN_1 + 1 * SECOND, _order(clock, "T", buy, 100, 1_900_000), "t1")
    at(_OPEN_1 + 2 * SECOND, _order(clock, "MM", sell, 50, 1_920_000))
    at(_OPEN_1 + 3 * SECOND, _order(clock, "T", buy, 50, 1_920_000), "t2")
    at(_OPEN_1 + 4 * SECOND, _order(clock, "T", sell, 60, 1_950_000), "t3")
    at(_OPEN_1 + 14 * SECOND, _order(clock, "MM", buy, 60))
    resting = at(_OPEN_1 + 20 * SECOND, _order(clock, "T", buy, 100, 1_800_000), "t4")
    at(_OPEN_1 + 21 * SECOND, CancelOrder(0, "T", resting))
    at(_OPEN_1 + 22 * SECOND, _order(clock, "T", buy, 100, 1_800_050), "t5")  # off tick

    at(_OPEN_2, _order(clock, "T", sell, 150, 2_000_000), "t6")
    at(_OPEN_2 + 1 * SECOND, _order(clock, "MM", buy, 150, 2_000_000))
    at(_OPEN_2 + 2 * SECOND, _order(clock, "MM", sell, 60, 1_980_000))
    at(_OPEN_2 + 3 * SECOND, _order(clock, "T", buy, 20, 1_980_000), "t7")
    await sequencer.durable()
    await core.settle()
    return core


def crafted_journal(directory: Path) -> int:
    """Journal the crafted days in ``directory`` and close the core; the
    last sequence."""

    async def run() -> int:
        core = await craft(directory)
        last = core.sequencer.sequence
        await core.close()
        return last

    return asyncio.run(run())
