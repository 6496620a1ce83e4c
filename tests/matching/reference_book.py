"""A deliberately simple reference book for continuous trading.

Like exchange-core's naive order book: plain lists scanned and sorted on every
use, no indexes, no cleverness, so that it is obviously right. It covers
limit and market orders, DAY/GTC/IOC/FOK, icebergs, post-only, cancel,
replace and self-trade prevention, and assigns order ids the way the engine
does (a counter bumped on every accepted order). Priority is an explicit
"arrival" number, renewed whenever an order loses its place.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from matching import SelfTradePrevention, Side, TimeInForce

STP = SelfTradePrevention


@dataclass
class RefOrder:
    order_id: int
    account: str
    side: Side
    price: int
    quantity: int
    remaining: int
    peak: int
    display: int
    arrival: int
    stp: SelfTradePrevention
    post_only: bool


class ReferenceBook:
    def __init__(self) -> None:
        self.orders: list[RefOrder] = []
        self.next_id = 0
        self.arrivals = 0
        self.trades: list[tuple[int, int, int, int]] = []
        """(price, quantity, buy order id, sell order id) of the last command."""

    def _arrive(self) -> int:
        self.arrivals += 1
        return self.arrivals

    def queue(self, side: Side) -> list[RefOrder]:
        """One side, best first: better price, then earlier arrival."""
        own = [order for order in self.orders if order.side is side]
        sign = -1 if side is Side.BUY else 1
        return sorted(own, key=lambda order: (sign * order.price, order.arrival))

    def snapshot(self) -> dict[str, list[tuple[int, list[tuple[int, int, int]]]]]:
        result: dict[str, list[tuple[int, list[tuple[int, int, int]]]]] = {}
        for side in (Side.BUY, Side.SELL):
            levels: list[tuple[int, list[tuple[int, int, int]]]] = []
            for order in self.queue(side):
                entry = (order.order_id, order.remaining, order.display)
                if levels and levels[-1][0] == order.price:
                    levels[-1][1].append(entry)
                else:
                    levels.append((order.price, [entry]))
            result[side.name] = levels
        return result

    def _crosses(self, side: Side, limit: int | None, resting: RefOrder) -> bool:
        if limit is None:
            return True
        return resting.price <= limit if side is Side.BUY else resting.price >= limit

    def new_order(
        self,
        account: str,
        side: Side,
        quantity: int,
        limit: int | None,
        tif: TimeInForce,
        peak: int,
        post_only: bool,
        stp: SelfTradePrevention,
    ) -> None:
        self.trades = []
        other = Side.SELL if side is Side.BUY else Side.BUY
        crossing = [o for o in self.queue(other) if self._crosses(side, limit, o)]
        if post_only and crossing:
            return
        self.next_id += 1
        display = peak if 0 < peak < quantity else quantity
        order = RefOrder(
            self.next_id, account, side, limit or 0, quantity, quantity, peak, display, 0, stp,
            post_only,
        )  # fmt: skip
        if tif is TimeInForce.FOK and not self._fillable(order, limit):
            return
        self._match(order, limit)
        if order.remaining and limit is not None and tif not in (TimeInForce.IOC, TimeInForce.FOK):
            order.display = peak if 0 < peak < order.remaining else order.remaining
            order.arrival = self._arrive()
            self.orders.append(order)

    def _fillable(self, order: RefOrder, limit: int | None) -> bool:
        """Try it on a copy: FOK fills only if matching alone would fill it all."""
        trial = copy.deepcopy(self)
        probe = copy.deepcopy(order)
        trial._match(probe, limit)
        return sum(trade[1] for trade in trial.trades) == order.remaining

    def _match(self, order: RefOrder, limit: int | None) -> None:
        other = Side.SELL if order.side is Side.BUY else Side.BUY
        while order.remaining:
            candidates = [o for o in self.queue(other) if self._crosses(order.side, limit, o)]
            if not candidates:
                return
            resting = candidates[0]
            if order.stp is not STP.NONE and resting.account == order.account:
                self._self_trade(order, resting)
                continue
            quantity = min(order.remaining, resting.display)
            order.remaining -= quantity
            resting.remaining -= quantity
            resting.display -= quantity
            buy, sell = (order, resting) if order.side is Side.BUY else (resting, order)
            self.trades.append((resting.price, quantity, buy.order_id, sell.order_id))
            if resting.display == 0:
                if resting.remaining:
                    resting.display = min(resting.peak, resting.remaining)
                    resting.arrival = self._arrive()
                else:
                    self.orders.remove(resting)

    def _self_trade(self, order: RefOrder, resting: RefOrder) -> None:
        if order.stp is STP.DECREMENT:
            quantity = min(order.remaining, resting.remaining)
            order.remaining -= quantity
            order.quantity -= quantity
            resting.remaining -= quantity
            resting.quantity -= quantity
            resting.display = min(resting.display, resting.remaining)
            if not resting.remaining:
                self.orders.remove(resting)
            return
        if order.stp in (STP.CANCEL_RESTING, STP.CANCEL_BOTH):
            self.orders.remove(resting)
        if order.stp in (STP.CANCEL_INCOMING, STP.CANCEL_BOTH):
            order.remaining = 0

    def cancel(self, account: str, order_id: int) -> None:
        self.trades = []
        self.orders = [
            o for o in self.orders if not (o.order_id == order_id and o.account == account)
        ]

    def replace(self, account: str, order_id: int, price: int, quantity: int) -> None:
        self.trades = []
        found = [o for o in self.orders if o.order_id == order_id and o.account == account]
        if not found:
            return
        order = found[0]
        filled = order.quantity - order.remaining
        if quantity <= filled:
            return
        other = Side.SELL if order.side is Side.BUY else Side.BUY
        crossing = any(self._crosses(order.side, price, o) for o in self.queue(other))
        same = price == order.price and quantity <= order.quantity
        if order.post_only and crossing and not same:
            return
        order.remaining = quantity - filled
        order.quantity = quantity
        if same:
            order.display = min(order.display, order.remaining)
            return
        self.orders.remove(order)
        order.price = price
        order.display = order.peak if 0 < order.peak < order.remaining else order.remaining
        self._match(order, price)
        if order.remaining:
            order.display = order.peak if 0 < order.peak < order.remaining else order.remaining
            order.arrival = self._arrive()
            self.orders.append(order)
