"""Stop and stop-limit orders waiting for their trigger.

A buy stop fires when a trade prints at or above its stop price, a sell stop
when one prints at or below. Of the stops one print makes eligible, the oldest
fires first; each then enters the book like a new order, and the prints it
makes may fire more.
"""

from __future__ import annotations

from bisect import insort

from matching.enums import OrderType, SelfTradePrevention, Side, TimeInForce


class PendingStop:
    __slots__ = (
        "account",
        "order_id",
        "order_type",
        "price",
        "quantity",
        "reserve",
        "self_trade_prevention",
        "side",
        "stop_price",
        "symbol",
        "time_in_force",
    )

    def __init__(
        self,
        order_id: int,
        symbol: str,
        account: str,
        side: Side,
        order_type: OrderType,
        stop_price: int,
        price: int,
        quantity: int,
        time_in_force: TimeInForce,
        self_trade_prevention: SelfTradePrevention,
        reserve: int,
    ) -> None:
        self.order_id = order_id
        self.symbol = symbol
        self.account = account
        self.side = side
        self.order_type = order_type
        self.stop_price = stop_price
        self.price = price
        """The limit price once triggered (STOP_LIMIT); 0 for a plain STOP."""
        self.quantity = quantity
        self.time_in_force = time_in_force
        self.self_trade_prevention = self_trade_prevention
        self.reserve = reserve
        """The account ledger's value of the order (see ``Order.reserve``)."""

    def key(self) -> tuple[int, int]:
        """Sort key: the stop that fires next sorts last."""
        if self.side is Side.BUY:
            return (-self.stop_price, -self.order_id)
        return (self.stop_price, -self.order_id)


class StopBook:
    """The waiting stops of one instrument, each side sorted by firing order."""

    __slots__ = ("buys", "by_id", "sells")

    def __init__(self) -> None:
        self.buys: list[tuple[int, int]] = []
        self.sells: list[tuple[int, int]] = []
        self.by_id: dict[int, PendingStop] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, stop: PendingStop) -> None:
        insort(self.buys if stop.side is Side.BUY else self.sells, stop.key())
        self.by_id[stop.order_id] = stop

    def remove(self, stop: PendingStop) -> None:
        (self.buys if stop.side is Side.BUY else self.sells).remove(stop.key())
        del self.by_id[stop.order_id]

    def pop_triggered(self, last_price: int) -> PendingStop | None:
        """Remove and return the stop that ``last_price`` fires next, if any."""
        buys = self.buys
        sells = self.sells
        buy_id = -buys[-1][1] if buys and last_price >= -buys[-1][0] else 0
        sell_id = -sells[-1][1] if sells and last_price <= sells[-1][0] else 0
        if not buy_id and not sell_id:
            return None
        if buy_id and (not sell_id or buy_id < sell_id):
            buys.pop()
            return self.by_id.pop(buy_id)
        sells.pop()
        return self.by_id.pop(sell_id)

    def would_trigger(self, side: Side, stop_price: int, last_price: int) -> bool:
        """Whether a new stop would fire at once against the last print."""
        if not last_price:
            return False
        return last_price >= stop_price if side is Side.BUY else last_price <= stop_price
