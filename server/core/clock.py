"""Time for the engine when no order brings it.

The engine has no clock: time arrives with commands. GTD expiries and market
protection's scheduled reopenings must still happen on time in a quiet
market, so this task journals an ``AdvanceTime`` whenever one of them is due
(and only then: an idle exchange writes nothing).
"""

from __future__ import annotations

import asyncio

from matching import AdvanceTime
from server.core.exchange import ExchangeCore
from server.journal.codec import Origin

TICK_SECONDS = 0.1
CLOCK = Origin("system:clock", "local", "clock")


def due(core: ExchangeCore, now: int) -> bool:
    engine = core.engine
    schedule = engine.schedule
    expiries = engine.expiries
    return bool((schedule and schedule[0][0] <= now) or (expiries and expiries[0][0] <= now))


async def run_clock(core: ExchangeCore, interval: float = TICK_SECONDS) -> None:
    sequencer = core.sequencer
    while True:
        await asyncio.sleep(interval)
        now = sequencer.now()
        if due(core, now):
            sequencer.submit(AdvanceTime(now), "", CLOCK)
