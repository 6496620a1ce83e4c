"""Layering: stacked orders on one side, a trade on the other, then the stack vanishes.

The layers (open orders at ``layering_min_levels`` or more distinct prices,
entered within ``layering_order_window_ns`` before the trade) suggest
interest the account does not have; once it has traded on the other side
at the price they induced, it cancels them. The episode opens at the trade,
when the layers also outweigh the account's own quantity on the trading side
``layering_min_imbalance`` times over (a market maker quoting several levels
each side is balanced), and is flagged when the account cancels layers at
``layering_min_levels`` distinct prices within ``layering_cancel_within_ns``
of that trade. Further trades on the same side within that time join the
episode (with the layers open then) but do not extend it, which bounds its
state. The alert is raised at the end of the command that completed it, so
a mass cancel's orders all appear in it.

Only recent open orders are tracked (pruned by entry time), so memory
follows the order rate times the window, not the size of the books.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from itertools import chain, islice
from typing import Any

from matching import (
    CancelReason,
    Command,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderReduced,
    OrderReplaced,
    OrderType,
    Side,
    TimeInForce,
    Trade,
)
from server.consumers.surveillance.base import Detector, Handler, opposite
from server.consumers.surveillance.config import SurveillanceConfig
from server.model.alerts import (
    Alert,
    AlertKind,
    AlertSeverity,
    details,
    format_duration,
)

_RESTING = frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD})
_COUNTED = frozenset({CancelReason.USER_REQUESTED, CancelReason.MASS_CANCEL})

_Key = tuple[str, str, int]
"""(account, symbol, side)."""


class _Order:
    __slots__ = ("arrival", "entry_time", "key", "leaves", "order_id", "price", "quantity")

    def __init__(self, event: OrderAccepted, key: _Key, entry_time: int, arrival: int) -> None:
        self.order_id = event.order_id
        self.key = key
        self.price = event.price
        self.quantity = event.quantity
        self.leaves = event.quantity
        self.entry_time = entry_time
        self.arrival = arrival
        """The detector's count of orders tracked, this one included: an
        episode tells its layers from later orders by it."""


class _Stack:
    """One account's tracked orders on one side of one symbol, with the
    totals a trade reads kept up to date, so that a trade costs the same
    whether the account rests ten orders or a hundred thousand."""

    __slots__ = ("leaves", "orders", "prices", "quantity")

    def __init__(self) -> None:
        self.orders: dict[int, _Order] = {}
        """By id, in order of arrival: the first is the oldest, since command
        timestamps never go back (the sequencer refuses it)."""
        self.prices: dict[int, int] = {}
        """Price -> how many of the orders rest at it: its length is the
        number of distinct prices."""
        self.quantity = 0
        """Sum of the orders' quantities."""
        self.leaves = 0
        """Sum of the orders' open quantities."""

    def add(self, order: _Order) -> None:
        self.orders[order.order_id] = order
        self._count(order.price, 1)
        self.quantity += order.quantity
        self.leaves += order.leaves

    def remove(self, order: _Order) -> None:
        del self.orders[order.order_id]
        self._count(order.price, -1)
        self.quantity -= order.quantity
        self.leaves -= order.leaves

    def change(self, order: _Order, price: int, quantity: int, leaves: int) -> None:
        if price != order.price:
            self._count(order.price, -1)
            self._count(price, 1)
            order.price = price
        self.quantity += quantity - order.quantity
        self.leaves += leaves - order.leaves
        order.quantity = quantity
        order.leaves = leaves

    def _count(self, price: int, change: int) -> None:
        count = self.prices.get(price, 0) + change
        if count:
            self.prices[price] = count
        else:
            del self.prices[price]


class _Episode:
    __slots__ = (
        "cancelled",
        "cancelled_prices",
        "deadline",
        "layer_count",
        "layer_quantity",
        "pinned",
        "seen",
        "start_time",
        "trade_ids",
        "trade_quantity",
        "trade_time",
        "trades",
        "trading_orders",
    )

    def __init__(self, start_time: int, deadline: int) -> None:
        self.seen = 0
        """The arrival number of the newest order tracked at the episode's last
        trade. The layers are the orders of the stack open at one of its
        trades: those still in the stack are exactly its orders that arrived
        up to ``seen`` (an order never rejoins a stack), so they need not be
        copied; the others are in ``pinned``."""
        self.pinned: dict[int, int] = {}
        """Layer id -> price when it joined, for the layers that have since
        left the stack (filled, cancelled, expired, pruned) or moved to
        another price."""
        self.layer_count = 0
        self.cancelled: dict[int, int] = {}
        """Cancelled layer id -> price when it joined."""
        self.cancelled_prices: set[int] = set()
        self.trade_ids: list[int] = []
        """The first trades, as evidence; ``trades`` counts them all."""
        self.trades = 0
        self.trading_orders: dict[int, None] = {}
        self.layer_quantity = 0
        self.trade_quantity = 0
        self.start_time = start_time
        self.trade_time = 0
        self.deadline = deadline
        """The first trade plus ``layering_cancel_within_ns``: never extended,
        so an episode's state is bounded by what happens within that time."""

    def pin(self, order: _Order) -> None:
        """Remember ``order``'s price as a layer before it leaves the stack or
        changes price (only the price it joined with counts)."""
        if order.arrival <= self.seen and order.order_id not in self.pinned:
            self.pinned[order.order_id] = order.price


class LayeringDetector(Detector):
    """Every per-event cost is O(1) amortised, independent of how many orders
    an account rests: a trade reads a stack's totals, and an episode holds
    only the layers that left their stack (each paid for by the event that
    removed it) plus the ones that arrived since its last trade."""

    def __init__(self, config: SurveillanceConfig) -> None:
        self._config = config
        self._orders: dict[int, _Order] = {}
        """Recent open limit orders by id."""
        self._by_key: dict[_Key, _Stack] = {}
        self._arrivals = 0
        """Orders tracked so far: the last one's ``arrival``."""
        self._entries: deque[tuple[int, int]] = deque()
        """(entry time, order id), oldest first, for pruning."""
        self._episodes: dict[_Key, _Episode] = {}
        """Open episodes by (account, symbol, side of the layers)."""
        self._deadlines: deque[tuple[int, _Key]] = deque()
        self._ready: dict[_Key, _Episode] = {}
        """Episodes the current command completed."""

    def handlers(self) -> Mapping[type[Any], Handler]:
        return {
            OrderAccepted: self._accepted,
            Trade: self._trade,
            OrderFilled: self._filled,
            OrderReduced: self._reduced,
            OrderReplaced: self._replaced,
            OrderCancelled: self._cancelled,
            OrderExpired: self._expired,
        }

    def begin(self, command: Command, now: int, out: list[Alert]) -> None:
        config = self._config
        entries = self._entries
        if entries and entries[0][0] < now - config.layering_order_window_ns:
            oldest = now - config.layering_order_window_ns
            while entries and entries[0][0] < oldest:
                order = self._orders.get(entries.popleft()[1])
                if order is not None:
                    self._forget(order)
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] < now:
            deadline, key = deadlines.popleft()
            episode = self._episodes.get(key)
            if episode is not None and episode.deadline <= deadline:
                del self._episodes[key]

    def tracked(self) -> int:
        return (
            len(self._orders)
            + len(self._by_key)
            + len(self._entries)
            + len(self._episodes)
            + len(self._deadlines)
        )

    def _forget(self, order: _Order) -> None:
        episode = self._episodes.get(order.key)
        if episode is not None:
            episode.pin(order)
        del self._orders[order.order_id]
        stack = self._by_key[order.key]
        stack.remove(order)
        if not stack.orders:
            del self._by_key[order.key]

    def _accepted(self, event: OrderAccepted, now: int, out: list[Alert]) -> None:
        if event.order_type != OrderType.LIMIT or event.time_in_force not in _RESTING:
            return
        key = (event.account, event.symbol, int(event.side))
        self._arrivals += 1
        order = _Order(event, key, now, self._arrivals)
        self._orders[event.order_id] = order
        stack = self._by_key.get(key)
        if stack is None:
            stack = self._by_key[key] = _Stack()
        stack.add(order)
        self._entries.append((now, event.order_id))

    def _trade(self, event: Trade, now: int, out: list[Alert]) -> None:
        self._traded(event, event.buy_account, Side.BUY, event.buy_order_id, now)
        self._traded(event, event.sell_account, Side.SELL, event.sell_order_id, now)

    def _traded(self, event: Trade, account: str, side: int, order_id: int, now: int) -> None:
        layer_key = (account, event.symbol, opposite(side))
        episode = self._episodes.get(layer_key)
        layers = self._by_key.get(layer_key)
        if episode is None:
            config = self._config
            if layers is None or len(layers.prices) < config.layering_min_levels:
                return
            own = self._by_key.get((account, event.symbol, side))
            trading_side = event.quantity
            if own is not None:
                trading_side = own.quantity
                if order_id not in own.orders:
                    trading_side += event.quantity
            if layers.leaves < config.layering_min_imbalance * trading_side:
                return
            oldest = next(iter(layers.orders.values()))
            episode = self._episodes[layer_key] = _Episode(
                oldest.entry_time, now + config.layering_cancel_within_ns
            )
            self._deadlines.append((episode.deadline, layer_key))
            episode.layer_count = len(layers.orders)
            episode.layer_quantity = layers.leaves
        elif layers is not None:
            # Orders that arrived since the last trade join; they are the
            # newest of the stack, so the walk stops at the first one seen.
            for order in reversed(layers.orders.values()):
                if order.arrival <= episode.seen:
                    break
                episode.layer_count += 1
                episode.layer_quantity += order.leaves
        episode.seen = self._arrivals
        episode.trades += 1
        if len(episode.trade_ids) < self._config.max_evidence_ids:
            episode.trade_ids.append(event.trade_id)
            episode.trading_orders[order_id] = None
        episode.trade_quantity += event.quantity
        episode.trade_time = now

    def _filled(self, event: OrderFilled, now: int, out: list[Alert]) -> None:
        self._set_leaves(event.order_id, event.leaves_quantity)

    def _reduced(self, event: OrderReduced, now: int, out: list[Alert]) -> None:
        self._set_leaves(event.order_id, event.leaves_quantity)

    def _set_leaves(self, order_id: int, leaves: int) -> None:
        order = self._orders.get(order_id)
        if order is not None:
            if leaves:
                self._by_key[order.key].change(order, order.price, order.quantity, leaves)
            else:
                self._forget(order)

    def _replaced(self, event: OrderReplaced, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            if event.price != order.price:
                episode = self._episodes.get(order.key)
                if episode is not None:
                    episode.pin(order)
            self._by_key[order.key].change(
                order, event.price, event.quantity, event.leaves_quantity
            )

    def _expired(self, event: OrderExpired, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            self._forget(order)

    def _cancelled(self, event: OrderCancelled, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            self._forget(order)  # pins it if it is a layer of an open episode
        if event.reason not in _COUNTED:
            return
        for side in (Side.BUY, Side.SELL):
            key = (event.account, event.symbol, int(side))
            episode = self._episodes.get(key)
            if episode is not None and event.order_id in episode.pinned:
                price = episode.pinned[event.order_id]
                episode.cancelled[event.order_id] = price
                episode.cancelled_prices.add(price)
                if len(episode.cancelled_prices) >= self._config.layering_min_levels:
                    self._ready[key] = episode
                return

    def end(self, now: int, out: list[Alert]) -> None:
        if not self._ready:
            return
        for key, episode in self._ready.items():
            del self._episodes[key]
            out.append(self._alert(key, episode, now))
        self._ready.clear()

    def _alert(self, key: _Key, episode: _Episode, now: int) -> Alert:
        account, symbol, side = key
        levels = len(episode.cancelled_prices)
        layer_side = Side(side).name
        traded = "sold" if side == Side.BUY else "bought"
        limit = self._config.max_evidence_ids
        order_ids = islice(chain(episode.cancelled, episode.trading_orders), limit)
        after = now - episode.trade_time
        trades = episode.trades
        description = (
            f"{account} held {episode.layer_count} {layer_side} orders in {symbol} "
            f"({episode.layer_quantity} shares), {traded} {episode.trade_quantity} shares "
            f"in {trades} {'trade' if trades == 1 else 'trades'} "
            "on the other side, then cancelled "
            f"{len(episode.cancelled)} of the layers at {levels} prices "
            f"{format_duration(after)} after the last trade"
        )
        return Alert(
            kind=AlertKind.LAYERING,
            severity=AlertSeverity.HIGH,
            account=account,
            symbol=symbol,
            description=description,
            order_ids=tuple(order_ids),
            trade_ids=tuple(episode.trade_ids),
            start_time=episode.start_time,
            end_time=now,
            details=details(
                layer_side=layer_side,
                levels=levels,
                layered_orders=episode.layer_count,
                cancelled_orders=len(episode.cancelled),
                layered_quantity=episode.layer_quantity,
                traded_quantity=episode.trade_quantity,
                trades=trades,
                cancel_after_ms=after // 1_000_000,
            ),
            create_time=now,
        )
