"""A crafted day of AAPL for execution quality: a two-sided market made by
``MM``, the trader ``T`` taking and resting against it, and a second trader
``B``; each order sent by its own user, as the gateway journals it. The
tests compute its slippage and compliance reports by hand (prices in units
of 0.0001, times from 14:30:00 UTC).

2026-03-09:
  +0 s  MM sells 100 @ 190.10; +1 s MM buys 100 @ 189.90; +2 s MM sells 100 @ 190.30
  +3 s  T buys 150 @ 190.30 ("q1"), arriving to 189.90 / 190.10 (mid 190.00):
        fills 100 @ 190.10 and 50 @ 190.30 (trades 1, 2)
  +4 s  T sells 100 @ 190.50 ("q2"), arriving to 189.90 / 190.30 (mid 190.10): rests
  +5 s  B buys 40 @ 190.30 ("b1"): 40 @ 190.30 from MM (trade 3)
  +6 s  B buys 100 at market ("b2"): 10 @ 190.30 from MM, 90 @ 190.50 from T (trades 4, 5)
  +8 s  B buys 10 @ 190.50 ("b3"): the last 10 of q2 (trade 6)
  +9 s  T buys 50 @ 189.00 ("q3"), arriving to a bid of 189.90 alone; +10 s canceled
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
from server.journal.codec import Origin
from tests.server.consumers.analytics.crafted import SECOND, Clock

DAY = datetime.date(2026, 3, 9)
OPEN = int(datetime.datetime(2026, 3, 9, 14, 30, tzinfo=datetime.UTC).timestamp()) * SECOND
USERS = {"T": "u-t", "B": "u-b", "MM": "u-mm"}


def quality_journal(directory: Path) -> int:
    """Journal the day in ``directory`` and close the core; the last sequence."""

    async def run() -> int:
        clock = Clock(OPEN - 3_600 * SECOND)
        core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE, clock=clock)
        sequencer = core.sequencer
        for account in USERS:
            sequencer.submit(
                SetRiskLimits(clock.now, account, RiskLimits(allow_short_selling=True))
            )
            sequencer.submit(FundAccount(clock.now, account, 10_000_000 * 10_000))

        def at(seconds: int, command: NewOrder | CancelOrder, client_id: str = "") -> int:
            clock.now = OPEN + seconds * SECOND
            origin = Origin(USERS[command.account], "10.0.0.1:4000", "grpc")
            applied = sequencer.submit(command._replace(timestamp=clock.now), client_id, origin)
            accepted = [event for event in applied.events if isinstance(event, OrderAccepted)]
            return accepted[0].order_id if accepted else 0

        def limit(account: str, side: Side, quantity: int, price: int) -> NewOrder:
            return NewOrder(
                0, account, "AAPL", side, OrderType.LIMIT, quantity, price, TimeInForce.GTC
            )

        buy, sell = Side.BUY, Side.SELL
        at(0, limit("MM", sell, 100, 1_901_000), "m1")
        at(1, limit("MM", buy, 100, 1_899_000), "m2")
        at(2, limit("MM", sell, 100, 1_903_000), "m3")
        at(3, limit("T", buy, 150, 1_903_000), "q1")
        at(4, limit("T", sell, 100, 1_905_000), "q2")
        at(5, limit("B", buy, 40, 1_903_000), "b1")
        market = NewOrder(0, "B", "AAPL", buy, OrderType.MARKET, 100, 0, TimeInForce.IOC)
        at(6, market, "b2")
        at(8, limit("B", buy, 10, 1_905_000), "b3")
        resting = at(9, limit("T", buy, 50, 1_890_000), "q3")
        at(10, CancelOrder(0, "T", resting), "q3-cancel")
        await sequencer.durable()
        await core.settle()
        last = sequencer.sequence
        await core.close()
        return last

    return asyncio.run(run())
