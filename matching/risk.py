"""Accounts inside the core: cash, positions, P&L, and the pre-trade controls.

Modeled on the market-access controls of SEC Rule 15c3-5: every order is
checked before it reaches a book, here in the deterministic core, so a
journal replay makes exactly the same decisions. The ledger follows the
engine's own events (acceptances, fills, cancels, replaces), so cash,
positions and the cash reserved by open buy orders are always those of the
committed state.

Money and prices are integers in the contract's unit (0.0001 of the
currency); a notional is ``price * quantity`` in that same unit.

Rules, per account (an unset limit means no limit):

- kill switch: a blocked account may not enter or replace orders (always on);
- message rate: order messages (new, cancel, replace) counted per whole second
  of command time; new orders and replaces over the limit are refused,
  cancels never are (they only lower risk);
- maximum order quantity and maximum order notional; market orders are valued
  at the reference price (last trade, else previous close), stops at their
  stop price;
- market order protection: a buy market order (or a buy stop once it fires)
  trades no higher than its protection price, ``market_protection_bps`` above
  that value, and reserves cash at that price, so no fill can take more cash
  than the buying power check allowed; while limits are enforced, what cannot
  trade within it is cancelled;
- price collar: a limit price within ``price_collar_bps`` of the reference;
- maximum open orders;
- position limit: the position plus every open order on the same side, as if
  they all filled; an order that only brings that closer to flat passes even
  over the limit (an account above a lowered limit can still reduce);
- short selling: without ``allow_short_selling`` a sell needs a position that
  is not already promised to open sells;
- buying power: cash minus the cash reserved by open buy orders (limit price
  times open quantity) must cover the new order.

Profit and loss use the average-cost method: buying adds to the position's
cost, a closing trade realizes ``(price - average cost) * quantity`` and
takes that share of the cost away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from matching.commands import DEFAULT_MARKET_PROTECTION_BPS, NewOrder, ReplaceOrder
from matching.enums import OrderType, RejectReason, Side
from matching.events import (
    CancelRejected,
    Event,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
)
from matching.instrument import BASIS_POINTS
from matching.ledger import SECOND as _SECOND
from matching.ledger import AccountLedger, Holding
from matching.risk_checks import limit_breach
from matching.risk_limits import NO_LIMITS, RiskLimits, money

if TYPE_CHECKING:
    from matching.book import Order, OrderBook
    from matching.order_index import OrderIndex
    from matching.stops import PendingStop

_BUY: Final = Side.BUY
_MARKET: Final = OrderType.MARKET
_STOP: Final = OrderType.STOP
_SELL_MARK: Final = -1
"""The ledger's value for an open sell order (buys hold their reserve price)."""


class RiskBook:
    """Every account's ledger, the open orders' reservations and the checks."""

    def __init__(
        self,
        orders: OrderIndex[Order],
        stops: dict[int, PendingStop],
        departed: dict[int, Order | PendingStop],
    ) -> None:
        self.orders = orders
        self.stops = stops
        self.departed = departed
        """The engine's open orders, stops, and orders that left during the
        current command: each carries its ``reserve``, which the events that
        name it by id are booked with."""
        self.accounts: dict[str, AccountLedger] = {}
        self.default_limits = NO_LIMITS
        """The limits of accounts that have none of their own."""
        self.enforced = False
        """Whether the limits are checked; the kill switch always is."""
        self.protection_bps = DEFAULT_MARKET_PROTECTION_BPS
        """How far above its value a buy market order may trade."""
        self.now = 0
        """The time of the command being applied (the engine sets it)."""
        self._replaced: tuple[int, int, int] = (0, 0, 0)
        """(old reserve price, old open quantity, new reserve price) of the
        order being replaced."""
        self._handlers = {
            OrderFilled: self._filled,
            OrderCancelled: self._closed,
            OrderExpired: self._closed,
            OrderReduced: self._reduced,
            OrderReplaced: self._replaced_order,
        }

    def ledger(self, account: str) -> AccountLedger:
        ledger = self.accounts.get(account)
        if ledger is None:
            ledger = self.accounts[account] = AccountLedger(account)
        return ledger

    def limits_of(self, ledger: AccountLedger) -> RiskLimits:
        return ledger.limits if ledger.limits is not None else self.default_limits

    # -- checks --------------------------------------------------------------

    def admit(self, book: OrderBook, command: NewOrder) -> OrderRejected | int:
        """The refusal of a new order that passed every rule of the book, or
        the reserve the order is to carry: then it is booked (its reservation
        and open quantity), so acceptances need no event walk."""
        account = command.account
        ledger = self.accounts.get(account)
        if ledger is None:
            ledger = self.accounts[account] = AccountLedger(account)
        if ledger.killed:
            return _refuse(
                command,
                RejectReason.KILL_SWITCH_ACTIVE,
                f"account {command.account} is blocked by a kill switch: {ledger.kill_reason}",
            )
        order_type = command.order_type
        if order_type is _MARKET:
            value = book.last_trade_price or book.instrument.reference_price
            reserve = protection_price(value, self.protection_bps, book.instrument.tick_size)
        elif order_type is _STOP:
            value = command.stop_price
            reserve = protection_price(value, self.protection_bps, book.instrument.tick_size)
        else:
            value = reserve = command.price
        second = command.timestamp // _SECOND
        if second != ledger.window:
            ledger.window = second
            ledger.messages = 0
        messages = ledger.messages = ledger.messages + 1
        symbol = command.symbol
        holding = ledger.holdings.get(symbol)
        quantity = command.quantity
        buy = command.side is _BUY
        if self.enforced:
            text = limit_breach(
                ledger.limits if ledger.limits is not None else self.default_limits,
                ledger,
                holding,
                symbol,
                buy,
                messages,
                quantity,
                value,
                command.price,
                book.last_trade_price or book.instrument.reference_price,
                quantity,
                reserve * quantity if buy else 0,
                True,
            )
            if text is not None:
                return _refuse(command, *text)
        if holding is None:
            holding = ledger.holdings[symbol] = Holding()
        ledger.open_orders += 1
        if buy:
            holding.open_buy += quantity
            ledger.reserved += reserve * quantity
            return reserve
        holding.open_sell += quantity
        return _SELL_MARK

    def check_replace(
        self,
        book: OrderBook,
        command: ReplaceOrder,
        side: Side,
        reserve: int,
        leaves: int,
        value: int,
        new_reserve: int,
        new_leaves: int,
    ) -> CancelRejected | None:
        """The refusal of a replace that takes an order from ``leaves`` open
        (a buy's ``reserve`` per share) to ``new_leaves`` valued at ``value``
        per share and reserving ``new_reserve``; or None. Remembers the old
        and new values for the replace's event."""
        ledger = self.ledger(command.account)
        self._replaced = (reserve, leaves, new_reserve)
        if ledger.killed:
            return CancelRejected(
                command.order_id,
                command.account,
                RejectReason.KILL_SWITCH_ACTIVE,
                f"account {command.account} is blocked by a kill switch: {ledger.kill_reason}",
            )
        messages = ledger.count_message(command.timestamp)
        if not self.enforced:
            return None
        buy = side is _BUY
        symbol = book.symbol
        text = limit_breach(
            self.limits_of(ledger),
            ledger,
            ledger.holdings.get(symbol),
            symbol,
            buy,
            messages,
            command.quantity,
            value,
            command.price,
            book.last_trade_price or book.instrument.reference_price,
            new_leaves - leaves,
            new_reserve * new_leaves - reserve * leaves if buy else 0,
            False,
        )
        if text is None:
            return None
        return CancelRejected(command.order_id, command.account, text[0], text[1])

    # -- following the engine's events ---------------------------------------

    def apply(self, events: list[Event], start: int = 0) -> None:
        """Follow fills, cancels, expiries, reductions and replaces in
        ``events[start:]`` (acceptances are booked by ``admit``)."""
        get = self._handlers.get
        for event in events[start:] if start else events:
            handler = get(type(event))
            if handler is not None:
                handler(event)  # type: ignore[operator]

    def cancel(
        self, account: str, timestamp: int, reserve: int, symbol: str, quantity: int
    ) -> None:
        """A cancel of an open order: counted as a message, its rest released."""
        ledger = self.accounts[account]
        second = timestamp // _SECOND
        if second != ledger.window:
            ledger.window = second
            ledger.messages = 0
        ledger.messages += 1
        ledger.open_orders -= 1
        holding = ledger.holdings[symbol]
        if reserve >= 0:
            holding.open_buy -= quantity
            ledger.reserved -= reserve * quantity
        else:
            holding.open_sell -= quantity

    def cancel_message(self, account: str, timestamp: int) -> None:
        """Count a cancel (never refused) towards the account's message rate."""
        ledger = self.accounts.get(account)
        if ledger is None:
            ledger = self.accounts[account] = AccountLedger(account)
        ledger.count_message(timestamp)

    def _order(self, order_id: int) -> Order | PendingStop:
        """The order an event names: one that left during this command (the
        usual case for cancels and last fills), one in a book, or a stop."""
        order = self.departed.get(order_id)
        if order is None:
            order = self.orders.get(order_id) or self.stops[order_id]
        return order

    def close(self, order_id: int, account: str, symbol: str, quantity: int) -> None:
        """An open order left with ``quantity`` unfilled (cancel, expiry)."""
        reserve = self._order(order_id).reserve
        ledger = self.accounts[account]
        ledger.open_orders -= 1
        holding = ledger.holdings[symbol]
        if reserve >= 0:
            holding.open_buy -= quantity
            ledger.reserved -= reserve * quantity
        else:
            holding.open_sell -= quantity

    def _filled(self, event: OrderFilled) -> None:
        # Unpacked at once: one step instead of eight attribute lookups.
        symbol, order_id, account, _, price, quantity, leaves, _ = event
        reserve = self._order(order_id).reserve
        ledger = self.accounts[account]
        holding = ledger.holdings[symbol]
        ledger.updated = self.now
        held = holding.quantity
        if reserve >= 0:
            holding.open_buy -= quantity
            ledger.reserved -= reserve * quantity
            ledger.cash -= price * quantity
            if held >= 0:
                # Opening or adding: the common case needs no average.
                holding.quantity = held + quantity
                holding.cost += quantity * price
            else:
                holding.trade(True, quantity, price)
        else:
            holding.open_sell -= quantity
            ledger.cash += price * quantity
            if held <= 0:
                holding.quantity = held - quantity
                holding.cost -= quantity * price
            else:
                holding.trade(False, quantity, price)
        if not leaves:
            ledger.open_orders -= 1

    def _release(self, order_id: int, account: str, symbol: str, quantity: int) -> None:
        reserve = self._order(order_id).reserve
        ledger = self.accounts[account]
        holding = ledger.holdings[symbol]
        if reserve >= 0:
            holding.open_buy -= quantity
            ledger.reserved -= reserve * quantity
        else:
            holding.open_sell -= quantity

    def _closed(self, event: OrderCancelled | OrderExpired) -> None:
        self.close(event.order_id, event.account, event.symbol, event[3])

    def _reduced(self, event: OrderReduced) -> None:
        self._release(event.order_id, event.account, event.symbol, event.reduced_by)

    def _replaced_order(self, event: OrderReplaced) -> None:
        old_reserve, old_leaves, reserve = self._replaced
        ledger = self.accounts[event.account]
        holding = ledger.holdings[event.symbol]
        leaves = event.leaves_quantity
        if old_reserve >= 0:
            ledger.reserved += reserve * leaves - old_reserve * old_leaves
            holding.open_buy += leaves - old_leaves
            self._order(event.order_id).reserve = reserve
        else:
            holding.open_sell += leaves - old_leaves

    # -- administration ------------------------------------------------------

    def fund(self, account: str, amount: int, timestamp: int) -> str | None:
        """Credit (or debit) cash; why it cannot be done, or None."""
        ledger = self.ledger(account)
        if amount < 0 and ledger.buying_power + amount < 0:
            return (
                f"a debit of {money(-amount)} exceeds the buying power "
                f"{money(ledger.buying_power)} of account {account}"
            )
        ledger.cash += amount
        ledger.updated = timestamp
        return None


def protection_price(value: int, bps: int, tick: int) -> int:
    """The highest price a buy market order valued at ``value`` may trade at
    (``bps`` above it, down to the tick), which is also what it reserves."""
    return (value + value * bps // BASIS_POINTS) // tick * tick


def _refuse(command: NewOrder, reason: RejectReason, text: str) -> OrderRejected:
    return OrderRejected(command.symbol, command.account, reason, 0, text)
