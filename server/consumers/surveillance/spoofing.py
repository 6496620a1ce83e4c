"""Spoofing: large orders near the touch, cancelled unfilled within moments, again and again.

A spoofer shows size it never means to trade so that others move their
prices, then cancels before anyone can hit it. One such order proves
nothing (people change their minds); the pattern is what is flagged: at
least ``spoof_min_count`` of them by one account in one symbol within
``spoof_window_ns``.

An order is a candidate when it is a resting limit order (DAY, GTC or GTD)
whose *visible* quantity (an iceberg shows only its display quantity) is
at least ``spoof_min_quantity`` or ``spoof_size_multiple`` times the
symbol's typical visible size, and that rests within
``spoof_near_touch_ticks`` ticks of the best price on its side once the
command that entered it is done. It counts when the account (or a mass
cancel it asked for) cancels it within ``spoof_max_lifetime_ns`` of entry
and it never traded. A replace takes an order out of consideration.

The typical size is an exponentially weighted mean of visible sizes (weight
1/32, fixed point) with each sample capped at 4 times the current mean, so a
spoofer's own orders barely move the yardstick they are measured by.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from matching import (
    AddInstrument,
    CancelReason,
    Command,
    NewOrder,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderReplaced,
    OrderType,
    Side,
    TimeInForce,
    TopOfBookChanged,
)
from server.consumers.surveillance.base import Detector, Handler, median
from server.consumers.surveillance.config import SurveillanceConfig
from server.model.alerts import (
    Alert,
    AlertKind,
    AlertSeverity,
    details,
    format_duration,
)

_SCALE = 256
"""Fixed-point scale of the typical size: fractions of a share without floats."""
_WEIGHT_SHIFT = 5
"""Each new size moves the mean by 1/32 of the difference."""
_CAP = 4
"""A sample counts for at most this many times the current mean."""
_RESTING = frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD})
_COUNTED = frozenset({CancelReason.USER_REQUESTED, CancelReason.MASS_CANCEL})
"""Cancels the account chose; kill switches, administrators and self-trade
prevention cancel for it."""


class _Symbol:
    __slots__ = ("ask", "bid", "samples", "tick", "typical")

    def __init__(self, tick: int) -> None:
        self.bid = 0
        self.ask = 0
        self.tick = tick
        self.typical = 0
        """Mean visible size times ``_SCALE``."""
        self.samples = 0

    def observe_size(self, quantity: int) -> None:
        scaled = quantity * _SCALE
        if self.samples == 0:
            self.typical = scaled
        else:
            scaled = min(scaled, self.typical * _CAP)
            self.typical += (scaled - self.typical) >> _WEIGHT_SHIFT
        self.samples += 1


class _Candidate:
    __slots__ = (
        "account",
        "entry_time",
        "order_id",
        "price",
        "quantity",
        "side",
        "symbol",
        "ticks",
    )

    def __init__(
        self, event: OrderAccepted, quantity: int, entry_time: int, ticks: int = 0
    ) -> None:
        self.order_id = event.order_id
        self.account = event.account
        self.symbol = event.symbol
        self.side = event.side
        self.price = event.price
        self.quantity = quantity
        self.entry_time = entry_time
        self.ticks = ticks


class _Counted:
    """One large order cancelled unfilled: a strike against its account."""

    __slots__ = ("cancel_time", "candidate")

    def __init__(self, candidate: _Candidate, cancel_time: int) -> None:
        self.candidate = candidate
        self.cancel_time = cancel_time


class SpoofingDetector(Detector):
    def __init__(
        self, config: SurveillanceConfig, tick_size_of: Callable[[str], int | None]
    ) -> None:
        self._config = config
        self._tick_size_of = tick_size_of
        self._ticks: dict[str, int] = {}
        """Tick sizes learned from ``AddInstrument`` commands."""
        self._symbols: dict[str, _Symbol] = {}
        self._command: Command | None = None
        self._entering: dict[int, _Candidate] = {}
        """Large orders accepted by the current command, judged at its end."""
        self._candidates: dict[int, _Candidate] = {}
        self._entries: deque[tuple[int, int]] = deque()
        """(entry time, order id) of candidates, oldest first, for pruning."""
        self._counted: dict[tuple[str, str], list[_Counted]] = {}
        """Strikes by (account, symbol) within the window."""
        self._cancels: deque[tuple[int, tuple[str, str]]] = deque()
        """(cancel time, key) of strikes, oldest first, for pruning."""

    def handlers(self) -> Mapping[type[Any], Handler]:
        return {
            OrderAccepted: self._accepted,
            OrderFilled: self._filled,
            OrderCancelled: self._cancelled,
            OrderExpired: self._gone,
            OrderReplaced: self._gone,
            TopOfBookChanged: self._top,
        }

    def begin(self, command: Command, now: int, out: list[Alert]) -> None:
        self._command = command
        if type(command) is AddInstrument:
            self._ticks[command.instrument.symbol] = command.instrument.tick_size
        entries = self._entries
        if entries and entries[0][0] < now - self._config.spoof_max_lifetime_ns:
            oldest = now - self._config.spoof_max_lifetime_ns
            candidates = self._candidates
            while entries and entries[0][0] < oldest:
                candidates.pop(entries.popleft()[1], None)
        cancels = self._cancels
        if cancels and cancels[0][0] < now - self._config.spoof_window_ns:
            oldest = now - self._config.spoof_window_ns
            while cancels and cancels[0][0] < oldest:
                self._prune(cancels.popleft()[1], oldest)

    def tracked(self) -> int:
        return len(self._candidates) + len(self._entries) + len(self._counted) + len(self._cancels)

    def _prune(self, key: tuple[str, str], oldest: int) -> None:
        strikes = self._counted.get(key)
        if strikes is None:
            return
        kept = [strike for strike in strikes if strike.candidate.entry_time >= oldest]
        if kept:
            self._counted[key] = kept
        else:
            del self._counted[key]

    def _symbol(self, symbol: str) -> _Symbol:
        state = self._symbols.get(symbol)
        if state is None:
            tick = self._ticks.get(symbol) or self._tick_size_of(symbol)
            state = self._symbols[symbol] = _Symbol(tick or self._config.default_tick_size)
        return state

    def _accepted(self, event: OrderAccepted, now: int, out: list[Alert]) -> None:
        if event.order_type != OrderType.LIMIT or event.time_in_force not in _RESTING:
            return
        quantity = event.quantity
        command = self._command
        if type(command) is NewOrder and command.display_quantity:
            quantity = min(quantity, command.display_quantity)
        state = self._symbol(event.symbol)
        config = self._config
        large = quantity >= config.spoof_min_quantity or (
            state.samples >= config.spoof_typical_samples
            and quantity * _SCALE >= config.spoof_size_multiple * state.typical
        )
        state.observe_size(quantity)
        if large:
            self._entering[event.order_id] = _Candidate(event, quantity, now)

    def _filled(self, event: OrderFilled, now: int, out: list[Alert]) -> None:
        self._entering.pop(event.order_id, None)
        self._candidates.pop(event.order_id, None)

    def _gone(self, event: OrderExpired | OrderReplaced, now: int, out: list[Alert]) -> None:
        self._candidates.pop(event.order_id, None)

    def _top(self, event: TopOfBookChanged, now: int, out: list[Alert]) -> None:
        state = self._symbol(event.symbol)
        state.bid = event.bid_price
        state.ask = event.ask_price

    def end(self, now: int, out: list[Alert]) -> None:
        entering = self._entering
        if not entering:
            return
        limit = self._config.spoof_near_touch_ticks
        for candidate in entering.values():
            state = self._symbols[candidate.symbol]
            if candidate.side == Side.BUY:
                best, behind = state.bid, state.bid - candidate.price
            else:
                best, behind = state.ask, candidate.price - state.ask
            if not best or behind < 0:
                continue  # not resting where the book says it would
            ticks = behind // state.tick
            if ticks <= limit:
                candidate.ticks = ticks
                self._candidates[candidate.order_id] = candidate
                self._entries.append((candidate.entry_time, candidate.order_id))
        entering.clear()

    def _cancelled(self, event: OrderCancelled, now: int, out: list[Alert]) -> None:
        candidate = self._candidates.pop(event.order_id, None)
        if candidate is None or event.reason not in _COUNTED:
            return
        if now - candidate.entry_time > self._config.spoof_max_lifetime_ns:
            return
        key = (candidate.account, candidate.symbol)
        strikes = self._counted.get(key)
        if strikes is None:
            strikes = self._counted[key] = []
        strikes.append(_Counted(candidate, now))
        self._cancels.append((now, key))
        if len(strikes) >= self._config.spoof_min_count:
            # Pruning goes by cancel time; the window is on entry times.
            self._prune(key, now - self._config.spoof_window_ns)
            strikes = self._counted.get(key, [])
            if len(strikes) >= self._config.spoof_min_count:
                del self._counted[key]
                out.append(self._alert(strikes, now))

    def _alert(self, strikes: list[_Counted], now: int) -> Alert:
        strikes.sort(key=lambda strike: strike.candidate.entry_time)
        first = strikes[0].candidate
        state = self._symbols[first.symbol]
        quantities = [strike.candidate.quantity for strike in strikes]
        lifetime = median([strike.cancel_time - strike.candidate.entry_time for strike in strikes])
        ticks = max(strike.candidate.ticks for strike in strikes)
        sides = sorted({Side(strike.candidate.side).name for strike in strikes})
        known = state.samples >= self._config.spoof_typical_samples
        typical = state.typical // _SCALE if known else 0
        shown = ", ".join(str(quantity) for quantity in quantities)
        description = (
            f"{first.account} entered {len(strikes)} large {first.symbol} orders "
            f"({shown} shares visible"
            + (f"; typical size {typical}" if known else "")
            + f") within {ticks} ticks of the touch and cancelled each unfilled; "
            f"median lifetime {format_duration(lifetime)}, "
            f"over {format_duration(now - first.entry_time)}"
        )
        limit = self._config.max_evidence_ids
        return Alert(
            kind=AlertKind.SPOOFING,
            severity=AlertSeverity.HIGH,
            account=first.account,
            symbol=first.symbol,
            description=description,
            order_ids=tuple(strike.candidate.order_id for strike in strikes[:limit]),
            trade_ids=(),
            start_time=first.entry_time,
            end_time=now,
            details=details(
                count=len(strikes),
                quantities=",".join(str(quantity) for quantity in quantities),
                median_lifetime_ms=lifetime // 1_000_000,
                max_ticks_from_touch=ticks,
                sides=",".join(sides),
                typical_order_size=typical if known else "unknown",
            ),
            create_time=now,
        )
