"""Cost per event against the size of the state: the harness behind every
consumer's scaling test (issue 15: no consumer's work per event may grow
with the size of any state).

A scenario is one account, ``DEEP``, resting ``resting`` buy orders, each at
its own price (so the public book also has that many levels, and the
layering detector sees them all as one account's layers), then the same
cycle of commands repeated, chunk after chunk:

1. ``DEEP`` offers 100 shares one tick above the best bid (it rests);
2. ``TAKER`` (same owner as ``DEEP``: a wash trade) buys them, immediate or
   cancel: a trade on the other side of ``DEEP``'s stack;
3. ``DEEP`` cancels one of its resting buy orders (a layer), and
4. enters it again at the same price, so the state keeps its size;
5. ``DEEP`` amends another resting order's quantity (a replace);
6. ``SPOOF`` joins the best bid with 60,000 shares, and 7. cancels it;
8. ``DEEP`` bids below the whole book (a new level at its far end), and
9. cancels that order.

Every command and its events come from a real matching engine, so each
consumer reads exactly what the sequencer hands out. A measurement feeds one
chunk to a consumer built at each size, in turns, with the garbage collector
off, and keeps the best process CPU time of several chunks: on a shared
machine the best run is the one least disturbed, and taking both sizes in
turns exposes them to the same noise. The result is a ratio, not a time.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from matching import (
    AddInstrument,
    CancelOrder,
    Command,
    Engine,
    Instrument,
    NewOrder,
    OrderAccepted,
    OrderType,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from server.journal.codec import encode
from server.model.sequenced import Sequenced

SMALL = 1_000
LARGE = 100_000
LIMIT = 2.0
"""The largest ratio of cost per event, large state to small, a consumer may show."""
CHUNKS = 5
"""Measured chunks per size; the best of them counts."""
CYCLES = 1_000
"""Cycles of the fixed sequence (9 commands each) in a chunk, at most: a
consumer whose events cost more measures fewer, enough for tens of ms."""
WARM_UP = 100
"""Cycles fed with the setup, unmeasured."""

SYMBOL = "SCAL"
TICK = 1
PRICE = 1_900_000
TOP = PRICE - 5 * TICK
"""The best bid: the first of ``DEEP``'s resting orders."""
ASK = TOP + TICK
FLOOR = TOP - (LARGE + 100) * TICK
"""Below every resting order: a level added and removed at the book's far end."""
CYCLED = 500
"""The resting orders the cycle cancels, re-enters and amends: the best ones,
the same in every state."""
OWNERS = {"DEEP": "owner", "TAKER": "owner", "SPOOF": "spoofer"}
SECOND = 1_000_000_000
START = 1_767_000_000 * SECOND
STEP = 20_000
"""Nanoseconds between commands: a whole scenario stays well inside every
detector's windows (the layers' 30 s), so no window closes mid-measurement."""


@dataclass(frozen=True)
class Scenario:
    resting: int
    orders: list[Sequenced]
    """From the empty exchange to ``resting`` orders on the book."""
    warm_up: list[Sequenced]
    """``WARM_UP`` cycles: every consumer has seen the cycle (and raised its
    first alerts) before anything is measured."""
    cycles: list[list[Sequenced]]
    """The measured cycles, ``CHUNKS * CYCLES`` of them, in order."""

    @property
    def setup(self) -> list[Sequenced]:
        return [*self.orders, *self.warm_up]

    def chunks(self, cycles: int) -> list[list[Sequenced]]:
        """``CHUNKS`` chunks of ``cycles`` cycles each: the first measured cycles."""
        if cycles > CYCLES:
            raise ValueError(f"a chunk holds at most {CYCLES} cycles, not {cycles}")
        return [
            [item for cycle in self.cycles[start : start + cycles] for item in cycle]
            for start in range(0, CHUNKS * cycles, cycles)
        ]

    @staticmethod
    def payloads(items: list[Sequenced]) -> list[tuple[int, bytes]]:
        """The journal records of ``items``: what the projector reads."""
        return [(item.sequence, encode(item.command, item.client_order_id)) for item in items]


class _Builder:
    def __init__(self) -> None:
        self.engine = Engine()
        self.sequence = 0
        self.now = START
        self.log: list[Sequenced] = []

    def run(self, command: Command) -> int:
        """Apply ``command``; the id of the order it accepted, or 0."""
        self.sequence += 1
        client_order_id = f"c{self.sequence}" if isinstance(command, NewOrder) else ""
        events = self.engine.process(command)
        self.log.append(Sequenced(self.sequence, command, events, client_order_id))
        for event in events:
            if isinstance(event, OrderAccepted):
                return event.order_id
        return 0

    def order(self, account: str, side: Side, quantity: int, price: int, tif: TimeInForce) -> int:
        self.now += STEP
        return self.run(
            NewOrder(self.now, account, SYMBOL, side, OrderType.LIMIT, quantity, price, tif)
        )

    def cancel(self, account: str, order_id: int) -> None:
        self.now += STEP
        self.run(CancelOrder(self.now, account, order_id))

    def replace(self, account: str, order_id: int, price: int, quantity: int) -> None:
        self.now += STEP
        self.run(ReplaceOrder(self.now, account, order_id, price, quantity))

    def take(self) -> list[Sequenced]:
        taken, self.log = self.log, []
        return taken


@functools.cache
def scenario(resting: int) -> Scenario:
    """The scenario with ``resting`` orders on the book (built once per run)."""
    build = _Builder()
    build.run(AddInstrument(build.now, Instrument(SYMBOL, tick_size=TICK, reference_price=PRICE)))
    day = TimeInForce.DAY
    # The deepest price first: each new price is then the best so far, which
    # the engine's sorted list of prices appends instead of inserting.
    pool = [
        build.order("DEEP", Side.BUY, 100, TOP - level * TICK, day)
        for level in reversed(range(resting))
    ]
    pool.reverse()
    if not all(pool):
        raise AssertionError("the engine refused a resting order of the scenario")
    orders = build.take()
    cycles = []
    for number in range(WARM_UP + CHUNKS * CYCLES):
        layer = number % CYCLED
        build.order("DEEP", Side.SELL, 100, ASK, day)
        build.order("TAKER", Side.BUY, 100, ASK, TimeInForce.IOC)
        build.cancel("DEEP", pool[layer])
        pool[layer] = build.order("DEEP", Side.BUY, 100, TOP - layer * TICK, day)
        amended = (layer + CYCLED // 2) % CYCLED
        build.replace("DEEP", pool[amended], TOP - amended * TICK, 90 + number // CYCLED % 2)
        build.cancel("SPOOF", build.order("SPOOF", Side.BUY, 60_000, TOP, day))
        build.cancel("DEEP", build.order("DEEP", Side.BUY, 100, FLOOR, day))
        cycles.append(build.take())
    warm_up = [item for cycle in cycles[:WARM_UP] for item in cycle]
    return Scenario(resting, orders, warm_up, cycles[WARM_UP:])


@dataclass(frozen=True)
class Scaling:
    small_ns: float
    """Best CPU time per event, ``SMALL`` orders resting."""
    large_ns: float
    """The same at ``LARGE`` orders."""

    @property
    def ratio(self) -> float:
        return self.large_ns / self.small_ns

    def __str__(self) -> str:
        return (
            f"{self.small_ns:.0f} ns/event at {SMALL:,} resting orders, "
            f"{self.large_ns:.0f} at {LARGE:,}: ratio {self.ratio:.2f}"
        )


Prepare = Callable[[Scenario], Callable[[list[Sequenced]], object]]
"""Builds a consumer, feeds it a scenario's setup, and returns what feeds it
one measured chunk (everything a measurement must not include happens here)."""


def measure(name: str, prepare: Prepare, cycles: int = CYCLES) -> Scaling:
    """The consumer's cost per event at ``LARGE`` resting orders against
    ``SMALL``, each the best of ``CHUNKS`` chunks of ``cycles`` cycles;
    printed (``pytest -s``)."""
    sizes = (SMALL, LARGE)
    feeds = {size: prepare(scenario(size)) for size in sizes}
    chunks = {size: scenario(size).chunks(cycles) for size in sizes}
    events = {size: sum(len(item.events) for item in chunks[size][0]) for size in sizes}
    if events[SMALL] != events[LARGE]:
        raise AssertionError(
            f"the sizes' chunks differ: {events[SMALL]} and {events[LARGE]} events"
        )
    best = dict.fromkeys(sizes, math.inf)
    gc.collect()
    gc.disable()
    try:
        for chunk in range(CHUNKS):
            # Each size goes first in turn: neither always runs on a cache the
            # other has just cooled.
            for size in sizes if chunk % 2 else reversed(sizes):
                items = chunks[size][chunk]
                feed = feeds[size]
                start = time.process_time_ns()
                feed(items)
                best[size] = min(best[size], time.process_time_ns() - start)
    finally:
        gc.enable()
    scaling = Scaling(best[SMALL] / events[SMALL], best[LARGE] / events[LARGE])
    print(f"\n{name}: {scaling}")
    return scaling
