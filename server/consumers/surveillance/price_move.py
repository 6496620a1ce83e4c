"""Abnormal price moves: a symbol trading far from where it traded a window ago.

Each trade's price is compared with the symbol's price at the start of the
rolling window (``price_move_window_ns`` ago): the last trade at or before
that time, else, when the symbol had not traded before the window, the first
trade within it. A move of more than ``price_move_threshold_bps`` raises an
alert (MEDIUM, HIGH from twice the threshold) and silences the symbol for a
window, so one move makes one alert. Prices are kept per slot of
``price_move_resolution_ns`` (first and last trade of each), which bounds the
memory per symbol and puts the start of the window within one slot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from matching import Trade
from server.consumers.surveillance.base import Detector, Handler
from server.consumers.surveillance.config import SurveillanceConfig
from server.model.alerts import (
    Alert,
    AlertKind,
    AlertSeverity,
    details,
    format_bps,
    format_duration,
    format_price,
)

_BPS = 10_000


class _Slot:
    __slots__ = (
        "first_id",
        "first_price",
        "first_time",
        "last_id",
        "last_price",
        "last_time",
        "start",
    )

    def __init__(self, start: int, trade: Trade, now: int) -> None:
        self.start = start
        self.first_price = self.last_price = trade.price
        self.first_id = self.last_id = trade.trade_id
        self.first_time = self.last_time = now


class _Series:
    __slots__ = ("anchor", "quiet_until", "slots")

    def __init__(self) -> None:
        self.slots: deque[_Slot] = deque()
        self.anchor: _Slot | None = None
        """The newest slot that ended before the window: its last trade is the
        price at the start of the window."""
        self.quiet_until = 0


class PriceMoveDetector(Detector):
    def __init__(self, config: SurveillanceConfig) -> None:
        self._config = config
        self._series: dict[str, _Series] = {}

    def handlers(self) -> Mapping[type[Any], Handler]:
        return {Trade: self._trade}

    def _trade(self, event: Trade, now: int, out: list[Alert]) -> None:
        config = self._config
        series = self._series.get(event.symbol)
        if series is None:
            series = self._series[event.symbol] = _Series()
        slots = series.slots
        start = now - now % config.price_move_resolution_ns
        if slots and slots[-1].start == start:
            slot = slots[-1]
            slot.last_price = event.price
            slot.last_id = event.trade_id
            slot.last_time = now
        else:
            slots.append(_Slot(start, event, now))
        oldest = now - config.price_move_window_ns
        while slots[0].last_time <= oldest:
            series.anchor = slots.popleft()
        if now < series.quiet_until:
            return
        anchor = series.anchor
        if anchor is not None:
            reference, reference_id, since = anchor.last_price, anchor.last_id, anchor.last_time
        else:
            first = slots[0]
            reference, reference_id, since = first.first_price, first.first_id, first.first_time
        change = event.price - reference
        if reference <= 0 or abs(change) * _BPS <= config.price_move_threshold_bps * reference:
            return
        series.quiet_until = now + config.price_move_window_ns
        out.append(self._alert(event, reference, reference_id, since, now))

    def _alert(
        self, event: Trade, reference: int, reference_id: int, since: int, now: int
    ) -> Alert:
        config = self._config
        change = event.price - reference
        bps = abs(change) * _BPS // reference * (1 if change > 0 else -1)
        severity = AlertSeverity.MEDIUM
        if abs(change) * _BPS > 2 * config.price_move_threshold_bps * reference:
            severity = AlertSeverity.HIGH
        description = (
            f"{event.symbol} traded at {format_price(event.price)}, {format_bps(bps)} from "
            f"{format_price(reference)} {format_duration(now - since)} earlier "
            f"(threshold {format_bps(config.price_move_threshold_bps)[1:]} "
            f"within {format_duration(config.price_move_window_ns)})"
        )
        return Alert(
            kind=AlertKind.ABNORMAL_PRICE_MOVE,
            severity=severity,
            account="",
            symbol=event.symbol,
            description=description,
            order_ids=(event.buy_order_id, event.sell_order_id),
            trade_ids=(reference_id, event.trade_id),
            start_time=since,
            end_time=now,
            details=details(
                reference_price=format_price(reference),
                price=format_price(event.price),
                move_bps=bps,
                threshold_bps=config.price_move_threshold_bps,
                window_ms=config.price_move_window_ns // 1_000_000,
                buy_account=event.buy_account,
                sell_account=event.sell_account,
            ),
            create_time=now,
        )
