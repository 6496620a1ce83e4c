"""The matching engine: many instruments, one book each; commands in, events out.

``Engine.process`` is the single entry point. It is deterministic: the same
commands in the same order give the same events and the same ``state_hash``,
because nothing here reads a clock, draws a random number or iterates an
unordered collection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from typing import Any

from matching import state
from matching.auction import uncross
from matching.book import AccountOrders, Counters, Order, OrderBook
from matching.commands import (
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    Command,
    MassCancel,
    NewOrder,
    ReplaceOrder,
    SetTradingPhase,
)
from matching.enums import CancelReason, OrderType, RejectReason, Side, TimeInForce, TradingPhase
from matching.events import (
    CancelRejected,
    CommandRejected,
    Event,
    InstrumentAdded,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    StopTriggered,
    TradingPhaseChanged,
)
from matching.instrument import Instrument
from matching.matcher import NO_LIMIT, fillable, match
from matching.replace import replace, replace_stop
from matching.stops import PendingStop
from matching.validation import check_new_order

_new = tuple.__new__
_CONTINUOUS = TradingPhase.CONTINUOUS
_BUY = Side.BUY
# Enum member lookups cost ~50 ns each on CPython 3.11; hot paths use these.
_USER_REQUESTED = CancelReason.USER_REQUESTED
_IMMEDIATE_OR_CANCEL = CancelReason.IMMEDIATE_OR_CANCEL
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_GTD = TimeInForce.GTD
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_TRANSITIONS: dict[TradingPhase, frozenset[TradingPhase]] = {
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
        self.orders: dict[int, Order] = {}
        """Open orders in a book or an auction queue, by order id."""
        self.stops: dict[int, PendingStop] = {}
        """Stop orders waiting for their trigger, by order id."""
        self.accounts: dict[str, AccountOrders] = {}
        self.counters = Counters()
        self.expiries: list[tuple[int, int]] = []
        """Heap of (expire_time, order_id) of GTD orders."""
        self.now = 0
        self._handlers: dict[type[Any], Callable[[Any, list[Event]], None]] = {
            NewOrder: self._new_order,
            CancelOrder: self._cancel,
            ReplaceOrder: self._replace,
            MassCancel: self._mass_cancel,
            SetTradingPhase: self._set_phase,
            AddInstrument: self._add_instrument,
            AdvanceTime: _ignore,
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
        if timestamp > self.now:
            self.now = timestamp
            expiries = self.expiries
            if expiries and expiries[0][0] <= timestamp:
                self._expire(out)
        kind = type(command)
        # The two commonest kinds skip the table lookup.
        if kind is NewOrder:
            self._new_order(command, out)  # type: ignore[arg-type]
        elif kind is CancelOrder:
            self._cancel(command, out)  # type: ignore[arg-type]
        else:
            self._handlers[kind](command, out)
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
        counters = self.counters
        order_id = counters.order_id + 1
        counters.order_id = order_id
        tif = command.time_in_force
        if tif is _GTD:
            # Queued at acceptance; an entry whose order is gone by then is skipped.
            heappush(self.expiries, (command.expire_time, order_id))
        out.append(
            _new(
                OrderAccepted,
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
        )
        if not crossing and continuous and tif is not _IOC and tif is not _FOK:
            # Most orders join the book without trading: skip the general path.
            book.rest(order, side, price, out)
        elif self._enter(book, order, side, price, out) and book.stops.by_id:
            self._fire_stops(book, out)
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
            key = -price if price else NO_LIMIT
        else:
            keys = book.bid_prices
            key = price or NO_LIMIT
        tif = order.time_in_force
        if tif is _FOK and not fillable(book, order, side, key):
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
        if keys and keys[-1] >= key:
            before = self.counters.trade_id
            match(book, order, side, key, out)
            traded = self.counters.trade_id != before
        if order.remaining:
            if not price or tif is _IOC or tif is _FOK:
                out.append(
                    OrderCancelled(
                        book.symbol,
                        order.order_id,
                        order.account,
                        order.remaining,
                        _IMMEDIATE_OR_CANCEL,
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
        self.counters.order_id += 1
        order_id = self.counters.order_id
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
            )
            self._enter(book, order, stop.side, stop.price, out)

    # -- cancel and replace --------------------------------------------------

    def _cancel(self, command: CancelOrder, out: list[Event]) -> None:
        order = self.orders.get(command.order_id)
        if order is not None and order.account == command.account:
            book = order.level.book
            out.append(
                _new(
                    OrderCancelled,
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
            self._cancel_stop(stop, CancelReason.USER_REQUESTED, out)
            return
        out.append(CancelRejected(command.order_id, command.account, RejectReason.UNKNOWN_ORDER))

    def _cancel_order(
        self, book: OrderBook, order: Order, reason: CancelReason, out: list[Event]
    ) -> None:
        out.append(
            OrderCancelled(book.symbol, order.order_id, order.account, order.remaining, reason)
        )
        book.remove(order, out)

    def _cancel_stop(self, stop: PendingStop, reason: CancelReason, out: list[Event]) -> None:
        self.books[stop.symbol].stops.remove(stop)
        del self.stops[stop.order_id]
        out.append(OrderCancelled(stop.symbol, stop.order_id, stop.account, stop.quantity, reason))

    def _replace(self, command: ReplaceOrder, out: list[Event]) -> None:
        order = self.orders.get(command.order_id)
        if order is not None and order.account == command.account:
            book = order.level.book
            if replace(book, order, command, out) and book.stops.by_id:
                self._fire_stops(book, out)
            if book.top_dirty:
                book.emit_top_of_book(out)
            return
        stop = self.stops.get(command.order_id)
        if stop is not None and stop.account == command.account:
            replace_stop(self.books[stop.symbol], stop, command, out)
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
        for stop in [
            stop
            for stop in self.stops.values()
            if stop.account == command.account and (not symbol or stop.symbol == symbol)
        ]:
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
                self.books[stop.symbol].stops.remove(stop)
                del self.stops[order_id]
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
        was_continuous = book.phase is _CONTINUOUS
        if phase in (_CONTINUOUS, TradingPhase.CLOSED) and not was_continuous:
            uncross(book, out)
        if phase is TradingPhase.CLOSED:
            self._expire_day_orders(book, out)
        book.phase = phase
        out.append(TradingPhaseChanged(book.symbol, phase))
        if phase is _CONTINUOUS and book.stops.by_id:
            self._fire_stops(book, out)
        book.emit_top_of_book(out)

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
        for stop in [stop for stop in book.stops.by_id.values() if stop.time_in_force is day]:
            book.stops.remove(stop)
            del self.stops[stop.order_id]
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
            instrument, phase, self.orders, self.accounts, self.counters
        )


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
