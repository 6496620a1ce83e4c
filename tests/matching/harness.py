"""A test harness over the engine: every command is followed by a full
invariant check, and events can be picked out by type."""

from __future__ import annotations

from typing import TypeVar

from matching import (
    CancelOrder,
    Engine,
    Event,
    Instrument,
    NewOrder,
    OrderAccepted,
    OrderType,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
    TradingPhase,
)
from matching.commands import Command

E = TypeVar("E")

TICK = 100
BUY = Side.BUY
SELL = Side.SELL


class Harness:
    def __init__(
        self,
        *instruments: Instrument,
        phase: TradingPhase = TradingPhase.CONTINUOUS,
    ) -> None:
        self.engine = Engine(instruments or (Instrument("X", TICK),), phase)
        self.clock = 1_000

    def run(self, command: Command) -> list[Event]:
        events = self.engine.process(command)
        self.engine.check_invariants()
        return events

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def order(
        self,
        side: Side,
        quantity: int,
        price: int = 0,
        *,
        account: str = "a",
        symbol: str = "X",
        order_type: OrderType | None = None,
        tif: TimeInForce = TimeInForce.DAY,
        stop: int = 0,
        display: int = 0,
        post_only: bool = False,
        stp: SelfTradePrevention = SelfTradePrevention.NONE,
        expire: int = 0,
    ) -> list[Event]:
        if order_type is None:
            order_type = OrderType.LIMIT if price else OrderType.MARKET
        return self.run(
            NewOrder(
                self.tick(),
                account,
                symbol,
                side,
                order_type,
                quantity,
                price,
                tif,
                stop,
                display,
                post_only,
                stp,
                expire,
            )
        )

    def place(self, side: Side, quantity: int, price: int = 0, **options: object) -> int:
        """Place an order that must be accepted; its order id."""
        events = self.order(side, quantity, price, **options)  # type: ignore[arg-type]
        accepted = of(events, OrderAccepted)
        assert accepted, events
        return accepted[0].order_id

    def cancel(self, order_id: int, account: str = "a") -> list[Event]:
        return self.run(CancelOrder(self.tick(), account, order_id))

    def replace(
        self, order_id: int, price: int, quantity: int, account: str = "a", stop: int = 0
    ) -> list[Event]:
        return self.run(ReplaceOrder(self.tick(), account, order_id, price, quantity, stop))

    def book(self, symbol: str = "X") -> dict[str, list[tuple[int, list[tuple[int, int, int]]]]]:
        """Each side best first: (price, [(order id, remaining, visible), ...])."""
        book = self.engine.books[symbol]
        return {
            side.name: [
                (
                    level.price,
                    [(order.order_id, order.remaining, order.display) for order in level.orders()],
                )
                for level in book.levels(side)
            ]
            for side in (BUY, SELL)
        }


def of(events: list[Event], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]
