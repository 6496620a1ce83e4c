"""Excessive order-to-trade ratio: order traffic that almost never trades.

Each account's activity is counted over windows of ``ratio_window_ns``,
the first starting at its first order or trade and the next at its first
activity after that one closed (tumbling windows: at most one alert per
account per window). Orders entered are accepted new orders and replaces
(a replace is a new order for the book); trades are the trades the account
took part in, once each even when it was on both sides. A window closes at
the first command at or after its end; it raises an alert when it saw at
least ``ratio_min_orders`` orders and ``orders >= ratio_threshold * trades``
(no trade counts as one). MEDIUM, HIGH from four times the threshold.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from matching import Command, OrderAccepted, OrderReplaced, Trade
from server.consumers.surveillance.base import Detector, Handler
from server.consumers.surveillance.config import SurveillanceConfig
from server.model.alerts import (
    Alert,
    AlertKind,
    AlertSeverity,
    details,
    format_duration,
)

_LISTED = 10
"""The symbols named in an alert's details, at most."""


class _Window:
    __slots__ = ("order_ids", "orders", "start", "symbols", "trades")

    def __init__(self, start: int) -> None:
        self.start = start
        self.orders = 0
        self.trades = 0
        self.order_ids: list[int] = []
        """The first orders of the window, as evidence."""
        self.symbols: dict[str, None] = {}


class OrderToTradeRatioDetector(Detector):
    def __init__(self, config: SurveillanceConfig) -> None:
        self._config = config
        self._windows: dict[str, _Window] = {}
        self._ends: deque[tuple[int, str]] = deque()
        """(window end, account), in order of end."""

    def handlers(self) -> Mapping[type[Any], Handler]:
        return {
            OrderAccepted: self._order,
            OrderReplaced: self._order,
            Trade: self._trade,
        }

    def tracked(self) -> int:
        return len(self._windows) + len(self._ends)

    def _window(self, account: str, now: int) -> _Window:
        window = self._windows.get(account)
        if window is None:
            window = self._windows[account] = _Window(now)
            self._ends.append((now + self._config.ratio_window_ns, account))
        return window

    def _order(self, event: OrderAccepted | OrderReplaced, now: int, out: list[Alert]) -> None:
        window = self._window(event.account, now)
        window.orders += 1
        if len(window.order_ids) < self._config.max_evidence_ids:
            window.order_ids.append(event.order_id)
        if event.symbol not in window.symbols:
            window.symbols[event.symbol] = None

    def _trade(self, event: Trade, now: int, out: list[Alert]) -> None:
        self._window(event.buy_account, now).trades += 1
        if event.sell_account != event.buy_account:
            self._window(event.sell_account, now).trades += 1

    def begin(self, command: Command, now: int, out: list[Alert]) -> None:
        ends = self._ends
        while ends and ends[0][0] <= now:
            end, account = ends.popleft()
            window = self._windows.pop(account)
            self._judge(account, window, end, now, out)

    def _judge(self, account: str, window: _Window, end: int, now: int, out: list[Alert]) -> None:
        config = self._config
        orders, trades = window.orders, window.trades
        if orders < config.ratio_min_orders or orders < config.ratio_threshold * max(trades, 1):
            return
        ratio = orders // max(trades, 1)
        severity = AlertSeverity.MEDIUM
        if ratio >= 4 * config.ratio_threshold:
            severity = AlertSeverity.HIGH
        symbols = list(window.symbols)
        symbol = symbols[0] if len(symbols) == 1 else ""
        where = f" in {symbol}" if symbol else f" in {len(symbols)} symbols"
        description = (
            f"{account} entered {orders} orders{where} and took part in {trades} trades "
            f"within {format_duration(end - window.start)}: {ratio} orders per trade "
            f"(threshold {config.ratio_threshold})"
        )
        out.append(
            Alert(
                kind=AlertKind.ORDER_TO_TRADE_RATIO,
                severity=severity,
                account=account,
                symbol=symbol,
                description=description,
                order_ids=tuple(window.order_ids),
                trade_ids=(),
                start_time=window.start,
                end_time=end,
                details=details(
                    orders=orders,
                    trades=trades,
                    ratio=ratio,
                    threshold=config.ratio_threshold,
                    window_ms=(end - window.start) // 1_000_000,
                    symbols=",".join(sorted(symbols)[:_LISTED])
                    + (",..." if len(symbols) > _LISTED else ""),
                ),
                create_time=now,
            )
        )
