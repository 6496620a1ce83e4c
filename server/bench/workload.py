"""A reproducible order flow for the engine benchmark.

The flow looks like a busy lit market: most messages are passive limit orders
a few ticks from the touch and cancels of them, with a steady share of
marketable orders and replaces. Order ids are assigned by the engine, so the
generator drives a real engine to learn which orders are live; the benchmark
then replays the recorded commands on a fresh engine, which (being
deterministic) assigns the same ids.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from matching import (
    CancelOrder,
    Command,
    Engine,
    Event,
    Instrument,
    NewOrder,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderType,
    ReplaceOrder,
    Side,
    TimeInForce,
)

# (symbol, tick size, starting price) in the contract's 4-decimal units.
SYMBOLS = (
    ("AAPL", 100, 1_900_000),
    ("MSFT", 100, 4_200_000),
    ("NVDA", 100, 1_200_000),
    ("AMZN", 100, 1_800_000),
    ("TSLA", 100, 2_500_000),
    ("SPY", 100, 5_600_000),
    ("F", 50, 120_000),
    ("PENNY", 1, 9_000),
)
ACCOUNTS = tuple(f"ACC{number:03d}" for number in range(50))


@dataclass(frozen=True)
class Mix:
    """Shares of each message kind, in percent of all commands."""

    passive: int = 50
    cancel: int = 30
    marketable: int = 10
    replace: int = 10
    target_resting_per_symbol: int = 2_000


def instruments() -> list[Instrument]:
    return [
        Instrument(symbol, tick, lot_size=1, reference_price=price)
        for symbol, tick, price in SYMBOLS
    ]


class _LiveOrders:
    """Resting order ids of one symbol, with O(1) random pick and removal."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.position: dict[int, int] = {}

    def add(self, order_id: int) -> None:
        self.position[order_id] = len(self.ids)
        self.ids.append(order_id)

    def discard(self, order_id: int) -> None:
        index = self.position.pop(order_id, None)
        if index is None:
            return
        last = self.ids.pop()
        if last != order_id:
            self.ids[index] = last
            self.position[last] = index

    def pick(self, rng: random.Random) -> int:
        return self.ids[rng.randrange(len(self.ids))]


class OrderFlow:
    """Draws commands that fit an engine's current books, and tracks which
    orders rest from the events they produce.

    The flow trades the benchmark's ``SYMBOLS``, or the instruments of
    ``listing`` (which the engine must list): ``stx demo`` trades those
    ``stx serve`` lists."""

    def __init__(
        self,
        engine: Engine,
        seed: int,
        mix: Mix | None = None,
        listing: Sequence[Instrument] | None = None,
    ) -> None:
        self.engine = engine
        self.mix = mix or Mix()
        self.rng = random.Random(seed)
        self.symbols = (
            SYMBOLS
            if listing is None
            else tuple((item.symbol, item.tick_size, item.reference_price) for item in listing)
        )
        self.live = {symbol: _LiveOrders() for symbol, _, _ in self.symbols}
        self.timestamp = 1_700_000_000_000_000_000

    def next_command(self) -> Command:
        self.timestamp += 1_000
        symbol, tick, reference = self.symbols[self.rng.randrange(len(self.symbols))]
        return _next_command(
            self.engine,
            self.rng,
            self.mix,
            self.live[symbol],
            symbol,
            tick,
            reference,
            self.timestamp,
        )

    def observe(self, events: list[Event]) -> None:
        orders = self.engine.orders
        for event in events:
            if isinstance(event, OrderAccepted):
                if event.order_id in orders:
                    self.live[event.symbol].add(event.order_id)
            elif isinstance(event, OrderCancelled) or (
                isinstance(event, OrderFilled) and event.is_complete
            ):
                self.live[event.symbol].discard(event.order_id)


def generate(count: int, seed: int, mix: Mix | None = None) -> list[Command]:
    """``count`` commands drawn from ``seed``; the same arguments give the same list."""
    flow = OrderFlow(Engine(instruments()), seed, mix)
    commands: list[Command] = []
    for _ in range(count):
        command = flow.next_command()
        commands.append(command)
        flow.observe(flow.engine.process(command))
    return commands


def _next_command(
    engine: Engine,
    rng: random.Random,
    mix: Mix,
    live: _LiveOrders,
    symbol: str,
    tick: int,
    reference: int,
    timestamp: int,
) -> Command:
    book = engine.books[symbol]
    bid = book.best_bid or reference - tick
    ask = book.best_ask or reference + tick
    roll = rng.randrange(100)
    crowded = len(live.ids) > mix.target_resting_per_symbol
    account = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
    side = Side.BUY if rng.random() < 0.5 else Side.SELL
    if live.ids and (roll < mix.cancel or (crowded and roll < mix.cancel + mix.passive)):
        order = engine.orders[live.pick(rng)]
        return CancelOrder(timestamp, order.account, order.order_id)
    if live.ids and roll < mix.cancel + mix.replace:
        order = engine.orders[live.pick(rng)]
        price = order.price
        quantity = order.quantity
        if rng.random() < 0.5:
            quantity = max(quantity - 100, order.cum_quantity + 100)
        else:
            price = max(tick, price + tick * rng.choice((-1, 1)))
        return ReplaceOrder(timestamp, order.account, order.order_id, price, quantity)
    if roll < mix.cancel + mix.replace + mix.marketable:
        quantity = 100 * rng.randint(1, 5)
        if rng.random() < 0.3:
            return NewOrder(
                timestamp,
                account,
                symbol,
                side,
                OrderType.MARKET,
                quantity,
                time_in_force=TimeInForce.IOC,
            )
        price = ask + tick if side is Side.BUY else max(tick, bid - tick)
        return NewOrder(
            timestamp, account, symbol, side, OrderType.LIMIT, quantity, price, TimeInForce.IOC
        )
    offset = tick * rng.randint(0, 5)
    price = max(tick, bid - offset) if side is Side.BUY else ask + offset
    if bid + tick < ask and rng.random() < 0.2:
        price = bid + tick if side is Side.BUY else ask - tick
    quantity = 100 * rng.randint(1, 10)
    return NewOrder(
        timestamp, account, symbol, side, OrderType.LIMIT, quantity, price, TimeInForce.GTC
    )
