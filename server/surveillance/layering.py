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
from server.surveillance.alerts import (
    Alert,
    AlertKind,
    AlertSeverity,
    details,
    format_duration,
)
from server.surveillance.base import Detector, Handler, opposite
from server.surveillance.config import SurveillanceConfig

_RESTING = frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD})
_COUNTED = frozenset({CancelReason.USER_REQUESTED, CancelReason.MASS_CANCEL})

_Key = tuple[str, str, int]
"""(account, symbol, side)."""


class _Order:
    __slots__ = ("entry_time", "key", "leaves", "order_id", "price", "quantity")

    def __init__(self, event: OrderAccepted, key: _Key, entry_time: int) -> None:
        self.order_id = event.order_id
        self.key = key
        self.price = event.price
        self.quantity = event.quantity
        self.leaves = event.quantity
        self.entry_time = entry_time


class _Episode:
    __slots__ = (
        "cancelled",
        "deadline",
        "layer_quantity",
        "layers",
        "start_time",
        "trade_ids",
        "trade_quantity",
        "trade_time",
        "trades",
        "trading_orders",
    )

    def __init__(self, start_time: int, deadline: int) -> None:
        self.layers: dict[int, int] = {}
        """Layered order id -> price."""
        self.cancelled: dict[int, int] = {}
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


class LayeringDetector(Detector):
    def __init__(self, config: SurveillanceConfig) -> None:
        self._config = config
        self._orders: dict[int, _Order] = {}
        """Recent open limit orders by id."""
        self._by_key: dict[_Key, dict[int, _Order]] = {}
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
        del self._orders[order.order_id]
        orders = self._by_key[order.key]
        del orders[order.order_id]
        if not orders:
            del self._by_key[order.key]

    def _accepted(self, event: OrderAccepted, now: int, out: list[Alert]) -> None:
        if event.order_type != OrderType.LIMIT or event.time_in_force not in _RESTING:
            return
        key = (event.account, event.symbol, int(event.side))
        order = _Order(event, key, now)
        self._orders[event.order_id] = order
        orders = self._by_key.get(key)
        if orders is None:
            orders = self._by_key[key] = {}
        orders[event.order_id] = order
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
            if layers is None or len({order.price for order in layers.values()}) < (
                config.layering_min_levels
            ):
                return
            own = self._by_key.get((account, event.symbol, side))
            trading_side = event.quantity
            if own is not None:
                trading_side = sum(order.quantity for order in own.values())
                if order_id not in own:
                    trading_side += event.quantity
            layered = sum(order.leaves for order in layers.values())
            if layered < config.layering_min_imbalance * trading_side:
                return
            episode = self._episodes[layer_key] = _Episode(
                min(order.entry_time for order in layers.values()),
                now + config.layering_cancel_within_ns,
            )
            self._deadlines.append((episode.deadline, layer_key))
        if layers is not None:
            for order in layers.values():
                if order.order_id not in episode.layers:
                    episode.layers[order.order_id] = order.price
                    episode.layer_quantity += order.leaves
        episode.trades += 1
        if len(episode.trade_ids) < self._config.max_evidence_ids:
            episode.trade_ids.append(event.trade_id)
            episode.trading_orders[order_id] = None
        episode.trade_quantity += event.quantity
        episode.trade_time = now

    def _filled(self, event: OrderFilled, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            order.leaves = event.leaves_quantity
            if not event.leaves_quantity:
                self._forget(order)

    def _reduced(self, event: OrderReduced, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            order.leaves = event.leaves_quantity
            if not event.leaves_quantity:
                self._forget(order)

    def _replaced(self, event: OrderReplaced, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            order.price = event.price
            order.quantity = event.quantity
            order.leaves = event.leaves_quantity

    def _expired(self, event: OrderExpired, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            self._forget(order)

    def _cancelled(self, event: OrderCancelled, now: int, out: list[Alert]) -> None:
        order = self._orders.get(event.order_id)
        if order is not None:
            self._forget(order)
        if event.reason not in _COUNTED:
            return
        for side in (Side.BUY, Side.SELL):
            key = (event.account, event.symbol, int(side))
            episode = self._episodes.get(key)
            if episode is not None and event.order_id in episode.layers:
                episode.cancelled[event.order_id] = episode.layers[event.order_id]
                levels = len(set(episode.cancelled.values()))
                if levels >= self._config.layering_min_levels:
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
        levels = sorted(set(episode.cancelled.values()))
        layer_side = Side(side).name
        traded = "sold" if side == Side.BUY else "bought"
        limit = self._config.max_evidence_ids
        order_ids = [*episode.cancelled, *episode.trading_orders][:limit]
        after = now - episode.trade_time
        trades = episode.trades
        description = (
            f"{account} held {len(episode.layers)} {layer_side} orders in {symbol} "
            f"({episode.layer_quantity} shares), {traded} {episode.trade_quantity} shares "
            f"in {trades} {'trade' if trades == 1 else 'trades'} "
            "on the other side, then cancelled "
            f"{len(episode.cancelled)} of the layers at {len(levels)} prices "
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
                levels=len(levels),
                layered_orders=len(episode.layers),
                cancelled_orders=len(episode.cancelled),
                layered_quantity=episode.layer_quantity,
                traded_quantity=episode.trade_quantity,
                trades=trades,
                cancel_after_ms=after // 1_000_000,
            ),
            create_time=now,
        )
