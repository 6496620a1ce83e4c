"""The matching engine: many instruments, one book each; commands in, events out.

``Engine.process`` is the single entry point. It is deterministic: the same
commands in the same order give the same events and the same ``state_hash``,
because nothing here reads a clock, draws a random number or iterates an
unordered collection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from typing import Any, Final

from matching import state
from matching.auction import uncross
from matching.book import AccountOrders, Counters, Order, OrderBook
from matching.commands import (
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    Command,
    ConfigureControls,
    FundAccount,
    MassCancel,
    NewOrder,
    ReplaceOrder,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
)
from matching.enums import CancelReason, OrderType, RejectReason, Side, TimeInForce, TradingPhase
from matching.events import (
    AccountFunded,
    CancelRejected,
    CommandRejected,
    ControlsConfigured,
    Event,
    InstrumentAdded,
    KillSwitchChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    RiskLimitsChanged,
    StopTriggered,
    TradingPaused,
    TradingPhaseChanged,
)
from matching.instrument import Instrument
from matching.matcher import NO_LIMIT, fillable, match
from matching.order_index import OrderIndex
from matching.protection import (
    DEFAULT_CONTROLS,
    MarketIndex,
    controls_error,
    levels_reached,
)
from matching.replace import replace, replace_stop
from matching.risk import RiskBook, protection_price
from matching.stops import PendingStop
from matching.validation import check_new_order

_new: Final = tuple.__new__
_CONTINUOUS: Final = TradingPhase.CONTINUOUS
_BUY: Final = Side.BUY
# Classes on the hot paths bound Final: compiled, a module-level name is a dict
# lookup at every use, a Final one a C static (docs/performance.md).
_NEW_ORDER: Final = NewOrder
_CANCEL_ORDER: Final = CancelOrder
_ORDER_ACCEPTED: Final = OrderAccepted
_ORDER_CANCELLED: Final = OrderCancelled
# Enum member lookups cost ~50 ns each on CPython 3.11; hot paths use these.
_USER_REQUESTED: Final = CancelReason.USER_REQUESTED
_IMMEDIATE_OR_CANCEL: Final = CancelReason.IMMEDIATE_OR_CANCEL
_LIMIT: Final = OrderType.LIMIT
_MARKET: Final = OrderType.MARKET
_STOP: Final = OrderType.STOP
_GTD: Final = TimeInForce.GTD
_IOC: Final = TimeInForce.IOC
_FOK: Final = TimeInForce.FOK
_LARGEST_CASH: Final = 2**63 - 1
_MARKET_PROTECTION: Final = CancelReason.MARKET_PROTECTION
_TRANSITIONS: Final[dict[TradingPhase, frozenset[TradingPhase]]] = {
    TradingPhase.CLOSED: frozenset((TradingPhase.PRE_OPEN, TradingPhase.CONTINUOUS)),
    TradingPhase.PRE_OPEN: frozenset(
        (TradingPhase.CONTINUOUS, TradingPhase.HALTED, TradingPhase.CLOSED)
    ),
    TradingPhase.CONTINUOUS: frozenset(
        (
            TradingPhase.PRE_OPEN,
            TradingPhase.CLOSING_AUCTION,
            TradingPhase.HALTED,
            TradingPhase.CLOSED,
        )
    ),
    TradingPhase.CLOSING_AUCTION: frozenset((TradingPhase.CLOSED, TradingPhase.HALTED)),
    TradingPhase.HALTED: frozenset(
        (TradingPhase.PRE_OPEN, TradingPhase.CONTINUOUS, TradingPhase.CLOSED)
    ),
}


class Engine:
    """Every book, every open order and the id sequences.

    The attributes are public for inspection (market data snapshots, state
    hashing, tests); only ``process`` may change them.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument] = (),
        phase: TradingPhase = TradingPhase.CONTINUOUS,
    ) -> None:
        self.books: dict[str, OrderBook] = {}
        self.orders: OrderIndex[Order] = OrderIndex()
        """Open orders in a book or an auction queue, by order id."""
        self.stops: dict[int, PendingStop] = {}
        """Stop orders waiting for their trigger, by order id."""
        self.departed: dict[int, Order | PendingStop] = {}
        """Orders that left ``orders`` or ``stops`` (or never rested) during
        the command being applied, for the ledger to book their events."""
        self.accounts: dict[str, AccountOrders] = {}
        self.counters = Counters()
        self.expiries: list[tuple[int, int]] = []
        """Heap of (expire_time, order_id) of GTD orders."""
        self.now = 0
        self.risk = RiskBook(self.orders, self.stops, self.departed)
        """Accounts: cash, positions, reservations, limits, kill switches."""
        self.controls = DEFAULT_CONTROLS
        """Market-wide controls (the last ``ConfigureControls``)."""
        self.breakers_tripped = 0
        """Circuit-breaker levels tripped since every instrument last closed."""
        self.index = MarketIndex()
        """The breaker's market index (derived from the books)."""
        self.schedule: list[tuple[int, str]] = []
        """Heap of (time, symbol) of protection phase changes; an entry whose
        time is no longer the book's ``resume_at`` is stale and skipped."""
        self._handlers: dict[type[Any], Callable[[Any, list[Event]], None]] = {
            NewOrder: self._new_order,
            CancelOrder: self._cancel,
            ReplaceOrder: self._replace,
            MassCancel: self._mass_cancel,
            SetTradingPhase: self._set_phase,
            AddInstrument: self._add_instrument,
            AdvanceTime: _ignore,
            FundAccount: self._fund,
            SetRiskLimits: self._set_limits,
            SetKillSwitch: self._set_kill_switch,
            ConfigureControls: self._configure,
        }
        for instrument in instruments:
            reason = instrument.validation_error()
            if reason is not None or instrument.symbol in self.books:
                problem = reason.name if reason is not None else "DUPLICATE_SYMBOL"
                raise ValueError(f"bad instrument {instrument!r}: {problem}")
            self.create_book(instrument, phase)

    def process(self, command: Command) -> list[Event]:
        """Apply one command and return what happened, in order."""
        out: list[Event] = []
        timestamp = command.timestamp
        risk = self.risk
        risk.now = timestamp
        departed = self.departed
        if departed:
            departed.clear()
        trades_before = self.counters.trade_id
        if timestamp > self.now:
            self.now = timestamp
            expiries = self.expiries
            if expiries and expiries[0][0] <= timestamp:
                self._expire(out)
            schedule = self.schedule
            if schedule and schedule[0][0] <= timestamp:
                self._run_schedule(out)
            if out:
                # Reservations released by what time did come before the checks.
                risk.apply(out)
                if self.counters.trade_id != trades_before and self.controls.breaker_levels:
                    # A reopening auction that fell far enough halts the market
                    # before this command is handled.
                    self._check_breaker(out)
                    trades_before = self.counters.trade_id
        start = len(out)
        kind = type(command)
        # The two commonest kinds skip the table lookup, and book their own
        # effects on the accounts; every other kind's events are followed.
        if kind is _NEW_ORDER:
            self._new_order(command, out)  # type: ignore[arg-type]
        elif kind is _CANCEL_ORDER:
            self._cancel(command, out)  # type: ignore[arg-type]
        else:
            self._handlers[kind](command, out)
            risk.apply(out, start)
        if self.counters.trade_id != trades_before and self.controls.breaker_levels:
            # A new order trades in its own book only: one term of the index.
            self._check_breaker(
                out, self.books[command.symbol] if isinstance(command, NewOrder) else None
            )
        return out

    def state_hash(self) -> str:
        return state.state_hash(self)

    def check_invariants(self) -> None:
        state.check_invariants(self)

    # -- order entry ---------------------------------------------------------

    def _new_order(self, command: NewOrder, out: list[Event]) -> None:
        book = self.books.get(command.symbol)
        if book is None:
            out.append(OrderRejected(command.symbol, command.account, RejectReason.UNKNOWN_SYMBOL))
            return
        reason = check_new_order(book.instrument, command, book.last_trade_price)
        continuous = book.phase is _CONTINUOUS
        if reason is None and not continuous:
            reason = _phase_rule(book, command)
        if reason is not None:
            out.append(OrderRejected(command.symbol, command.account, reason))
            return
        side = command.side
        order_type = command.order_type
        price = command.price
        crossing = True
        if order_type is _LIMIT:
            if side is _BUY:
                keys = book.ask_keys
                crossing = bool(keys) and keys[-1] >= -price
            else:
                keys = book.bid_prices
                crossing = bool(keys) and keys[-1] >= price
            if crossing and command.post_only and continuous:
                out.append(
                    OrderRejected(
                        command.symbol, command.account, RejectReason.POST_ONLY_WOULD_TRADE
                    )
                )
                return
        elif order_type is not _MARKET:
            self._new_stop(book, command, out)
            return
        reserve = self.risk.admit(book, command)
        if isinstance(reserve, OrderRejected):
            out.append(reserve)
            return
        counters = self.counters
        order_id = counters.order_id = counters.order_id + 1
        tif = command.time_in_force
        if tif is _GTD:
            # Queued at acceptance; an entry whose order is gone by then is skipped.
            heappush(self.expiries, (command.expire_time, order_id))
        out.append(
            _new(
                _ORDER_ACCEPTED,
                (
                    book.symbol,
                    order_id,
                    command.account,
                    side,
                    order_type,
                    price,
                    command.quantity,
                    tif,
                ),
            )
        )
        order = Order(
            order_id,
            command.account,
            command.quantity,
            command.display_quantity,
            tif,
            command.self_trade_prevention,
            command.post_only,
            reserve,
        )
        if not crossing and continuous and tif is not _IOC and tif is not _FOK:
            # Most orders join the book without trading: skip the general path.
            book.rest(order, side, price, out)
        else:
            entered = len(out)
            self.departed[order_id] = order
            if self._enter(book, order, side, price, out) and book.stops.by_id:
                self._fire_stops(book, out)
            self.risk.apply(out, entered)
        if book.top_dirty:
            book.emit_top_of_book(out)

    def _enter(
        self, book: OrderBook, order: Order, side: Side, price: int, out: list[Event]
    ) -> bool:
        """Match, rest or queue an accepted order; True if it traded.

        ``price`` 0 means a market order.
        """
        if book.phase is not _CONTINUOUS:
            if price:
                book.rest(order, side, price, out)
            else:
                book.rest_market(order, side)
            return False
        if side is _BUY:
            keys = book.ask_keys
            if price:
                key = -price
            elif self.risk.enforced and order.reserve:
                # Market order protection: no dearer than the cash reserved.
                key = -order.reserve
            else:
                key = NO_LIMIT
        else:
            keys = book.bid_prices
            key = price or NO_LIMIT
        limit_key = key
        blocked = False
        band_high = book.band_high
        if band_high:
            # protection.band_key and protection.outside_band, inlined: this
            # runs for every order of a banded instrument.
            bound = -band_high if side is _BUY else book.band_low
            key = bound if bound > key else key
            if keys and keys[-1] >= limit_key:
                best = abs(keys[-1])
                blocked = best > band_high or best < book.band_low
        tif = order.time_in_force
        if tif is _FOK and (blocked or not fillable(book, order, side, key)):
            out.append(
                OrderCancelled(
                    book.symbol,
                    order.order_id,
                    order.account,
                    order.remaining,
                    CancelReason.FILL_OR_KILL,
                )
            )
            return False
        traded = False
        if keys and keys[-1] >= key and not blocked:
            before = self.counters.trade_id
            match(book, order, side, key, out)
            traded = self.counters.trade_id != before
        if order.remaining and (blocked or key != limit_key) and keys and keys[-1] >= limit_key:
            # Only the band stopped it: pause, and let the auction decide.
            self._pause_for_band(book, abs(keys[-1]), out)
            if tif is _IOC or tif is _FOK:
                out.append(
                    OrderCancelled(
                        book.symbol,
                        order.order_id,
                        order.account,
                        order.remaining,
                        _IMMEDIATE_OR_CANCEL,
                    )
                )
            elif price:
                book.rest(order, side, price, out)
            else:
                book.rest_market(order, side)
            return traded
        if order.remaining:
            if not price or tif is _IOC or tif is _FOK:
                out.append(
                    OrderCancelled(
                        book.symbol,
                        order.order_id,
                        order.account,
                        order.remaining,
                        _MARKET_PROTECTION
                        if not price and key != NO_LIMIT and keys
                        else _IMMEDIATE_OR_CANCEL,
                    )
                )
            else:
                book.rest(order, side, price, out)
        return traded

    def _new_stop(self, book: OrderBook, command: NewOrder, out: list[Event]) -> None:
        if book.stops.would_trigger(command.side, command.stop_price, book.last_trade_price):
            out.append(
                OrderRejected(command.symbol, command.account, RejectReason.INVALID_STOP_PRICE)
            )
            return
        reserve = self.risk.admit(book, command)
        if isinstance(reserve, OrderRejected):
            out.append(reserve)
            return
        order_id = self.counters.order_id = self.counters.order_id + 1
        out.append(
            OrderAccepted(
                book.symbol,
                order_id,
                command.account,
                command.side,
                command.order_type,
                command.price,
                command.quantity,
                command.time_in_force,
            )
        )
        stop = PendingStop(
            order_id,
            book.symbol,
            command.account,
            command.side,
            command.order_type,
            command.stop_price,
            command.price,
            command.quantity,
            command.time_in_force,
            command.self_trade_prevention,
            reserve,
        )
        book.stops.add(stop)
        self.stops[order_id] = stop
        if stop.time_in_force is _GTD:
            heappush(self.expiries, (command.expire_time, order_id))

    def _fire_stops(self, book: OrderBook, out: list[Event]) -> None:
        """Enter every stop the last print fires, and those their prints fire."""
        while book.phase is _CONTINUOUS:
            stop = book.stops.pop_triggered(book.last_trade_price)
            if stop is None:
                return
            del self.stops[stop.order_id]
            out.append(
                StopTriggered(book.symbol, stop.order_id, stop.account, book.last_trade_price)
            )
            order = Order(
                stop.order_id,
                stop.account,
                stop.quantity,
                0,
                stop.time_in_force,
                stop.self_trade_prevention,
                False,
                stop.reserve,
            )
            self.departed[order.order_id] = order
            self._enter(book, order, stop.side, stop.price, out)

    # -- cancel and replace --------------------------------------------------

    def _cancel(self, command: CancelOrder, out: list[Event]) -> None:
        order = self.orders.get(command.order_id)
        if order is not None and order.account == command.account:
            book = order.level.book
            self.risk.cancel(
                order.account, command.timestamp, order.reserve, book.symbol, order.remaining
            )
            out.append(
                _new(
                    _ORDER_CANCELLED,
                    (
                        book.symbol,
                        order.order_id,
                        order.account,
                        order.remaining,
                        _USER_REQUESTED,
                    ),
                )
            )
            book.remove(order, out)
            if book.top_dirty:
                book.emit_top_of_book(out)
            return
        stop = self.stops.get(command.order_id)
        if stop is not None and stop.account == command.account:
            self.risk.cancel(
                stop.account, command.timestamp, stop.reserve, stop.symbol, stop.quantity
            )
            self._cancel_stop(stop, CancelReason.USER_REQUESTED, out)
            return
        self.risk.cancel_message(command.account, command.timestamp)
        out.append(CancelRejected(command.order_id, command.account, RejectReason.UNKNOWN_ORDER))

    def _cancel_order(
        self, book: OrderBook, order: Order, reason: CancelReason, out: list[Event]
    ) -> None:
        out.append(
            OrderCancelled(book.symbol, order.order_id, order.account, order.remaining, reason)
        )
        book.remove(order, out)

    def _drop_stop(self, stop: PendingStop) -> None:
        """Take a stop out of its book and the index (not when it fires)."""
        self.books[stop.symbol].stops.remove(stop)
        del self.stops[stop.order_id]
        self.departed[stop.order_id] = stop

    def _cancel_stop(self, stop: PendingStop, reason: CancelReason, out: list[Event]) -> None:
        self._drop_stop(stop)
        out.append(OrderCancelled(stop.symbol, stop.order_id, stop.account, stop.quantity, reason))

    def _replace(self, command: ReplaceOrder, out: list[Event]) -> None:
        order = self.orders.get(command.order_id)
        risk = self.risk
        if order is not None and order.account == command.account:
            book = order.level.book
            side = order.level.side
            reserve = order.reserve
            new_leaves = command.quantity - (order.quantity - order.remaining)
            refusal = risk.check_replace(
                book,
                command,
                side,
                reserve,
                order.remaining,
                command.price,
                command.price,
                new_leaves,
            )
            if refusal is not None:
                out.append(refusal)
                return
            traded = replace(book, order, command, out)
            if book.band_high and order.remaining and order.level is not None:
                self._pause_if_replace_breached(book, order, out)
            if traded and book.stops.by_id:
                self._fire_stops(book, out)
            if book.top_dirty:
                book.emit_top_of_book(out)
            return
        stop = self.stops.get(command.order_id)
        if stop is not None and stop.account == command.account:
            book = self.books[stop.symbol]
            if stop.order_type is _STOP:
                value = command.stop_price or stop.stop_price
                new_reserve = protection_price(
                    value, risk.protection_bps, book.instrument.tick_size
                )
            else:
                value = new_reserve = command.price
            refusal = risk.check_replace(
                book,
                command,
                stop.side,
                stop.reserve,
                stop.quantity,
                value,
                new_reserve,
                command.quantity,
            )
            if refusal is not None:
                out.append(refusal)
                return
            replace_stop(book, stop, command, out)
            return
        out.append(CancelRejected(command.order_id, command.account, RejectReason.UNKNOWN_ORDER))

    def _mass_cancel(self, command: MassCancel, out: list[Event]) -> None:
        symbol = command.symbol
        account = self.accounts.get(command.account)
        orders = [
            order
            for order in (account.orders() if account is not None else ())
            if not symbol or order.level.book.symbol == symbol
        ]
        touched: dict[str, OrderBook] = {}
        for order in orders:
            book = order.level.book
            touched[book.symbol] = book
            self._cancel_order(book, order, command.reason, out)
        # Oldest first, by order id: the dict's insertion order is not part of
        # the state (a snapshot restores stops book by book), so iterating it
        # would let a restored engine report these cancels in another order.
        for stop in sorted(
            (
                stop
                for stop in self.stops.values()
                if stop.account == command.account and (not symbol or stop.symbol == symbol)
            ),
            key=_stop_order_id,
        ):
            self._cancel_stop(stop, command.reason, out)
        for book in touched.values():
            book.emit_top_of_book(out)

    # -- time, phases and instruments ----------------------------------------

    def _expire(self, out: list[Event]) -> None:
        expiries = self.expiries
        touched: dict[str, OrderBook] = {}
        while expiries and expiries[0][0] <= self.now:
            order_id = heappop(expiries)[1]
            order = self.orders.get(order_id)
            if order is not None:
                book = order.level.book
                touched[book.symbol] = book
                out.append(OrderExpired(book.symbol, order_id, order.account, order.remaining))
                book.remove(order, out)
                continue
            stop = self.stops.get(order_id)
            if stop is not None:
                self._drop_stop(stop)
                out.append(OrderExpired(stop.symbol, order_id, stop.account, stop.quantity))
        for book in touched.values():
            book.emit_top_of_book(out)

    def _set_phase(self, command: SetTradingPhase, out: list[Event]) -> None:
        book = self.books.get(command.symbol)
        if book is None:
            out.append(CommandRejected(command.symbol, RejectReason.UNKNOWN_SYMBOL))
            return
        phase = command.phase
        if type(phase) is not TradingPhase or phase not in _TRANSITIONS[book.phase]:
            out.append(CommandRejected(command.symbol, RejectReason.INVALID_PHASE_TRANSITION))
            return
        # A person's decision overrides what market protection had scheduled.
        book.resume_at = 0
        self._change_phase(book, phase, out)

    def _change_phase(self, book: OrderBook, phase: TradingPhase, out: list[Event]) -> None:
        was_continuous = book.phase is _CONTINUOUS
        if phase in (_CONTINUOUS, TradingPhase.CLOSED) and not was_continuous:
            uncross(book, out, self.risk.enforced)
        if phase is TradingPhase.CLOSED:
            self._expire_day_orders(book, out)
            book.previous_close = book.last_trade_price or book.previous_close
            self.index.invalidate()
            book.set_band_reference(book.previous_close)
        book.phase = phase
        out.append(TradingPhaseChanged(book.symbol, phase))
        if phase is TradingPhase.CLOSED and all(
            other.phase is TradingPhase.CLOSED for other in self.books.values()
        ):
            self.breakers_tripped = 0
        if phase is _CONTINUOUS and book.stops.by_id:
            self._fire_stops(book, out)
        book.emit_top_of_book(out)

    # -- market protection ---------------------------------------------------

    def _schedule(self, book: OrderBook, at: int, phase: TradingPhase) -> None:
        book.resume_at = at
        book.resume_phase = phase
        heappush(self.schedule, (at, book.symbol))

    def _pause_for_band(self, book: OrderBook, price: int, out: list[Event]) -> None:
        """A trade would print at ``price``, outside the band: call phase, then
        a reopening auction after the configured pause."""
        resume = self.now + self.controls.pause_ns
        out.append(
            TradingPaused(
                book.symbol, "price_band", 0, price, book.band_low, book.band_high, resume
            )
        )
        book.phase = TradingPhase.PRE_OPEN
        out.append(TradingPhaseChanged(book.symbol, TradingPhase.PRE_OPEN))
        self._schedule(book, resume, _CONTINUOUS)

    def _pause_if_replace_breached(self, book: OrderBook, order: Order, out: list[Event]) -> None:
        """A replaced order rests crossed only when the band stopped it."""
        if book.phase is not _CONTINUOUS or not (book.bid_prices and book.ask_keys):
            return
        if book.best_bid < book.best_ask:
            return
        side = order.level.side
        self._pause_for_band(book, book.best_ask if side is _BUY else book.best_bid, out)

    def _check_breaker(self, out: list[Event], changed: OrderBook | None = None) -> None:
        levels = self.controls.breaker_levels
        tripped = self.breakers_tripped
        if tripped >= len(levels):
            return
        fall = self.index.fall(self.books, changed)
        if fall < levels[tripped][0]:
            return
        reached = levels_reached(levels, tripped, fall)
        self.breakers_tripped = reached
        halt = levels[reached - 1][1]
        resume = self.now + halt if halt else 0
        halted = TradingPhase.HALTED
        for book in self.books.values():
            # A book still halted by a lower level (it has a reopening time)
            # takes this level's duration; a person's halt stays theirs.
            already = book.phase is halted
            if already and not book.resume_at:
                continue
            if not already and halted not in _TRANSITIONS[book.phase]:
                continue
            out.append(TradingPaused(book.symbol, "circuit_breaker", reached, fall, 0, 0, resume))
            book.resume_at = 0
            if not already:
                book.phase = halted
                out.append(TradingPhaseChanged(book.symbol, halted))
            if resume:
                self._schedule(book, resume, TradingPhase.PRE_OPEN)

    def _run_schedule(self, out: list[Event]) -> None:
        schedule = self.schedule
        while schedule and schedule[0][0] <= self.now:
            at, symbol = heappop(schedule)
            book = self.books[symbol]
            if book.resume_at != at:
                continue
            book.resume_at = 0
            phase = book.resume_phase
            if phase not in _TRANSITIONS[book.phase]:
                continue
            self._change_phase(book, phase, out)
            if phase is TradingPhase.PRE_OPEN:
                self._schedule(book, at + self.controls.reopen_call_ns, _CONTINUOUS)

    # -- accounts ------------------------------------------------------------

    def _fund(self, command: FundAccount, out: list[Event]) -> None:
        if not command.account or type(command.amount) is not int or not command.amount:
            out.append(CommandRejected("", RejectReason.INVALID_AMOUNT, "an account and an amount"))
            return
        ledger = self.risk.accounts.get(command.account)
        if (ledger.cash if ledger else 0) + command.amount > _LARGEST_CASH:
            # Cash is an int64 in the contract and the store: beyond it no
            # answer or projection of this account could be written.
            out.append(
                CommandRejected("", RejectReason.INVALID_AMOUNT, "cash would exceed 2**63 - 1")
            )
            return
        problem = self.risk.fund(command.account, command.amount, command.timestamp)
        if problem is not None:
            out.append(CommandRejected("", RejectReason.RISK_BUYING_POWER, problem))
            return
        ledger = self.risk.accounts[command.account]
        out.append(AccountFunded(command.account, command.amount, ledger.cash))

    def _set_limits(self, command: SetRiskLimits, out: list[Event]) -> None:
        limits = command.limits
        problem = None if limits is None else limits.validation_error()
        if problem is None and limits is None and not command.account:
            problem = "the defaults cannot be removed, only replaced"
        if problem is not None:
            out.append(CommandRejected("", RejectReason.INVALID_RISK_LIMITS, problem))
            return
        risk = self.risk
        if not command.account:
            assert limits is not None
            risk.default_limits = limits
        else:
            risk.ledger(command.account).limits = limits
        out.append(
            RiskLimitsChanged(
                command.account, limits if limits is not None else risk.default_limits
            )
        )

    def _set_kill_switch(self, command: SetKillSwitch, out: list[Event]) -> None:
        if not command.accounts or not all(command.accounts):
            out.append(CommandRejected("", RejectReason.UNKNOWN_ACCOUNT, "no account named"))
            return
        for account in command.accounts:
            ledger = self.risk.ledger(account)
            cancelled = 0
            if command.active:
                before = len(out)
                self._mass_cancel(
                    MassCancel(command.timestamp, account, "", CancelReason.KILL_SWITCH), out
                )
                cancelled = sum(1 for event in out[before:] if type(event) is OrderCancelled)
            ledger.killed = command.active
            ledger.kill_reason = command.reason if command.active else ""
            out.append(KillSwitchChanged(account, command.active, command.reason, cancelled))

    def _configure(self, command: ConfigureControls, out: list[Event]) -> None:
        problem = controls_error(command)
        if problem is not None:
            out.append(CommandRejected("", RejectReason.INVALID_RISK_LIMITS, problem))
            return
        self.controls = command
        self.index.invalidate()
        self.risk.enforced = command.enforce_limits
        self.risk.protection_bps = command.market_protection_bps
        out.append(
            ControlsConfigured(
                command.enforce_limits,
                command.pause_ns,
                command.reopen_call_ns,
                command.breaker_levels,
                command.market_protection_bps,
            )
        )

    def _expire_day_orders(self, book: OrderBook, out: list[Event]) -> None:
        day = TimeInForce.DAY
        for side in (Side.BUY, Side.SELL):
            for level in list(book.levels(side)):
                for order in list(level.orders()):
                    if order.time_in_force is day:
                        out.append(
                            OrderExpired(
                                book.symbol, order.order_id, order.account, order.remaining
                            )
                        )
                        book.remove(order, out)
        day_stops = (stop for stop in book.stops.by_id.values() if stop.time_in_force is day)
        for stop in sorted(day_stops, key=_stop_order_id):  # oldest first, as for mass cancels
            self._drop_stop(stop)
            out.append(OrderExpired(book.symbol, stop.order_id, stop.account, stop.quantity))

    def _add_instrument(self, command: AddInstrument, out: list[Event]) -> None:
        instrument = command.instrument
        reason = instrument.validation_error()
        if reason is None and instrument.symbol in self.books:
            reason = RejectReason.DUPLICATE_SYMBOL
        if reason is None and type(command.phase) is not TradingPhase:
            reason = RejectReason.INVALID_PHASE_TRANSITION
        if reason is not None:
            out.append(CommandRejected(instrument.symbol, reason))
            return
        self.create_book(instrument, command.phase)
        out.append(InstrumentAdded(instrument.symbol, command.phase))

    def create_book(self, instrument: Instrument, phase: TradingPhase) -> None:
        """An empty book; outside ``process`` only while restoring a snapshot."""
        self.books[instrument.symbol] = OrderBook(
            instrument, phase, self.orders, self.accounts, self.counters, self.departed
        )
        self.index.invalidate()


def _phase_rule(book: OrderBook, command: NewOrder) -> RejectReason | None:
    phase = book.phase
    if phase is _CONTINUOUS:
        return None
    if phase is TradingPhase.CLOSED:
        return RejectReason.MARKET_CLOSED
    if phase is TradingPhase.HALTED:
        return RejectReason.TRADING_HALTED
    if command.time_in_force is _IOC or command.time_in_force is _FOK:
        return RejectReason.NOT_ALLOWED_IN_PHASE
    return None


def _ignore(command: AdvanceTime, out: list[Event]) -> None:
    """Time already advanced in ``Engine.process``."""


def _stop_order_id(stop: PendingStop) -> int:
    return stop.order_id
