"""The order book of one instrument: price levels, queues and their events.

Layout chosen for speed and memory in CPython (see docs/performance.md):

* Each price level keeps its orders in an intrusive doubly-linked list, so a
  cancel anywhere in the queue is O(1) and needs no container per order.
* Each side keeps a dict price -> level and a sorted list of keys whose *last*
  element is the best price: bids store prices ascending, asks store negated
  prices ascending. Most inserts and removals happen at the touch, i.e. at the
  end of the list, where ``list.pop()`` and ``bisect`` are cheapest.
* Every open order of an account is also on that account's intrusive list, so
  mass cancel and the kill switch never scan the book.

Resting orders do not store their side or price: their level has both.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Final

from matching.enums import SelfTradePrevention, Side, TimeInForce, TradingPhase
from matching.events import Event, LevelChanged, TopOfBookChanged
from matching.instrument import BASIS_POINTS, Instrument
from matching.order_index import Indexed, OrderIndex
from matching.stops import PendingStop, StopBook

_new: Final = tuple.__new__
BUY: Final = Side.BUY
SELL: Final = Side.SELL
# Classes on the hot paths bound Final: compiled, a module-level name is a dict
# lookup at every use, a Final one a C static (docs/performance.md).
_LEVEL_CHANGED: Final = LevelChanged
_TOP_OF_BOOK_CHANGED: Final = TopOfBookChanged
# Enum members by value, to unpack ``Order.instructions`` without hashing a
# member (``Enum.__hash__`` is a Python function); unused values map to the
# first member and are never packed.
_TIME_IN_FORCE: Final = tuple(
    {int(member): member for member in TimeInForce}.get(code, TimeInForce.DAY)
    for code in range(max(TimeInForce) + 1)
)
_SELF_TRADE_PREVENTION: Final = tuple(
    {int(member): member for member in SelfTradePrevention}.get(code, SelfTradePrevention.NONE)
    for code in range(max(SelfTradePrevention) + 1)
)


class Order(Indexed):
    """A live order: resting on a level, or (in a call phase) a market order
    waiting for the uncross. Its ``order_id`` slot is ``Indexed``'s."""

    __slots__ = (
        "account",
        "account_next",
        "account_prev",
        "display",
        "instructions",
        "level",
        "next",
        "peak",
        "prev",
        "quantity",
        "remaining",
        "reserve",
    )

    level: PriceLevel
    prev: Order | None
    next: Order | None
    account_prev: Order | None
    account_next: Order | None

    def __init__(
        self,
        order_id: int,
        account: str,
        quantity: int,
        peak: int,
        time_in_force: int,
        self_trade_prevention: int,
        post_only: bool,
        reserve: int,
    ) -> None:
        # The enums arrive typed as the ints they are: compiled, ``int()`` of
        # an IntEnum member would be a generic call making a new int object.
        self.order_id = order_id
        self.account = account
        self.quantity = quantity
        """Total quantity, filled part included (FIX OrderQty)."""
        self.remaining = quantity
        self.display = peak if 0 < peak < quantity else quantity
        """The visible part of ``remaining``; less than it only for icebergs."""
        self.peak = peak
        """Iceberg display size, 0 for a fully visible order."""
        self.instructions = time_in_force | self_trade_prevention << 8 | post_only << 16
        """Time in force, self-trade prevention and post-only, packed into one
        integer: three slots cost 16 bytes more per resting order."""
        self.reserve = reserve
        """For the account ledger: the cash a buy reserves per open share
        (its limit price, a stop's stop price, a market order's reference
        price at entry); -1 for a sell."""
        self.prev = None
        self.next = None
        self.account_prev = None
        self.account_next = None

    @property
    def time_in_force(self) -> TimeInForce:
        return _TIME_IN_FORCE[self.instructions & 0xFF]

    @property
    def self_trade_prevention(self) -> SelfTradePrevention:
        return _SELF_TRADE_PREVENTION[(self.instructions >> 8) & 0xFF]

    @property
    def post_only(self) -> bool:
        return self.instructions >= 1 << 16

    @property
    def side(self) -> Side:
        return self.level.side

    @property
    def price(self) -> int:
        return self.level.price

    @property
    def cum_quantity(self) -> int:
        return self.quantity - self.remaining


class PriceLevel:
    """Orders at one price in time priority; totals count visible quantity.

    A level with price 0 is a side's queue of market orders in a call phase:
    it is not part of the price ladder and never reported as Level 2.
    """

    __slots__ = ("book", "count", "head", "price", "quantity", "side", "tail")

    def __init__(self, book: OrderBook, side: Side, price: int) -> None:
        self.book = book
        self.side = side
        self.price = price
        self.quantity = 0
        self.count = 0
        self.head: Order | None = None
        self.tail: Order | None = None

    def orders(self) -> Iterator[Order]:
        order = self.head
        while order is not None:
            yield order
            order = order.next


class AccountOrders:
    """Head of an account's intrusive list of open orders.

    ``name`` is the one string object every open order of the account points
    to: gateways decode a new string per message, and a million resting orders
    each holding their own copy would cost ~50 MB.
    """

    __slots__ = ("count", "head", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.head: Order | None = None
        self.count = 0

    def orders(self) -> Iterator[Order]:
        order = self.head
        while order is not None:
            yield order
            order = order.account_next


class Counters:
    """Engine-wide id sequences, shared by every book."""

    __slots__ = ("order_id", "trade_id")

    def __init__(self) -> None:
        self.order_id = 0
        self.trade_id = 0


class OrderBook:
    __slots__ = (
        "accounts",
        "ask_keys",
        "asks",
        "band_high",
        "band_low",
        "band_reference",
        "bid_prices",
        "bids",
        "counters",
        "departed",
        "instrument",
        "last_trade_price",
        "market_buys",
        "market_sells",
        "orders",
        "phase",
        "previous_close",
        "resume_at",
        "resume_phase",
        "stops",
        "symbol",
        "top",
        "top_dirty",
    )

    def __init__(
        self,
        instrument: Instrument,
        phase: TradingPhase,
        orders: OrderIndex[Order],
        accounts: dict[str, AccountOrders],
        counters: Counters,
        departed: dict[int, Order | PendingStop],
    ) -> None:
        self.instrument = instrument
        self.counters = counters
        self.departed = departed
        """Orders that left the index during the command being applied, shared
        by every book: the account ledger still needs their reserve."""
        self.symbol = instrument.symbol
        self.phase = phase
        self.orders = orders
        """The engine-wide order id index, shared by every book."""
        self.accounts = accounts
        self.bids: dict[int, PriceLevel] = {}
        self.asks: dict[int, PriceLevel] = {}
        self.bid_prices: list[int] = []
        """Bid prices ascending: the best bid is last."""
        self.ask_keys: list[int] = []
        """Negated ask prices ascending: the best ask is last."""
        self.market_buys = PriceLevel(self, BUY, 0)
        """Market orders collected during a call phase, waiting for the uncross."""
        self.market_sells = PriceLevel(self, SELL, 0)
        self.last_trade_price = 0
        self.stops = StopBook()
        self.top = (0, 0, 0, 0)
        self.top_dirty = False
        """A best level changed since the top of book was last reported."""
        self.previous_close = instrument.reference_price
        """The last close (the configured reference price until a close)."""
        self.band_reference = 0
        self.band_low = 0
        self.band_high = 0
        """The volatility band: trades print within [band_low, band_high]
        (both 0: no band). See ``set_band_reference``."""
        self.set_band_reference(instrument.reference_price)
        self.resume_at = 0
        """When market protection moves the book to ``resume_phase`` (0: never)."""
        self.resume_phase = phase

    def set_band_reference(self, price: int) -> None:
        """Centre the volatility band on ``price``: the previous close, then the
        price of each auction (a static range, as on Xetra)."""
        self.band_reference = price
        band = self.instrument.volatility_band_bps
        if band and price:
            width = price * band // BASIS_POINTS
            self.band_low = max(price - width, 1)
            self.band_high = price + width
        else:
            self.band_low = self.band_high = 0

    # -- reading -------------------------------------------------------------

    @property
    def best_bid(self) -> int:
        return self.bid_prices[-1] if self.bid_prices else 0

    @property
    def best_ask(self) -> int:
        return -self.ask_keys[-1] if self.ask_keys else 0

    @property
    def reference_price(self) -> int:
        return self.last_trade_price or self.instrument.reference_price

    def levels(self, side: Side) -> Iterator[PriceLevel]:
        """Levels of one side from the best price outwards."""
        if side is BUY:
            bids = self.bids
            return (bids[price] for price in reversed(self.bid_prices))
        asks = self.asks
        return (asks[-key] for key in reversed(self.ask_keys))

    def level_at(self, side: Side, price: int) -> PriceLevel | None:
        return (self.bids if side is BUY else self.asks).get(price)

    # -- changing ------------------------------------------------------------

    def rest(self, order: Order, side: Side, price: int, out: list[Event]) -> None:
        """Put ``order`` at the back of the queue at ``price`` and index it.

        Queue and account links are inlined: this runs for most new orders.
        """
        if side is BUY:
            level = self.bids.get(price)
            if level is None:
                level = self.bids[price] = PriceLevel(self, BUY, price)
                prices = self.bid_prices
                if not prices or price > prices[-1]:
                    prices.append(price)
                    self.top_dirty = True
                else:
                    insort(prices, price)
            elif price == self.bid_prices[-1]:
                self.top_dirty = True
        else:
            level = self.asks.get(price)
            if level is None:
                level = self.asks[price] = PriceLevel(self, SELL, price)
                keys = self.ask_keys
                if not keys or -price > keys[-1]:
                    keys.append(-price)
                    self.top_dirty = True
                else:
                    insort(keys, -price)
            elif -price == self.ask_keys[-1]:
                self.top_dirty = True
        order.level = level
        tail = level.tail
        if tail is None:
            level.head = order
        else:
            tail.next = order
            order.prev = tail
        level.tail = order
        quantity = level.quantity + order.display
        level.quantity = quantity
        count = level.count + 1
        level.count = count
        self.orders.add(order)
        account = self.accounts.get(order.account)
        if account is None:
            account = self.accounts[order.account] = AccountOrders(order.account)
        order.account = account.name
        head = account.head
        order.account_next = head
        if head is not None:
            head.account_prev = order
        account.head = order
        account.count += 1
        out.append(_new(_LEVEL_CHANGED, (self.symbol, side, price, quantity, count)))

    def rest_market(self, order: Order, side: Side) -> None:
        """Queue a market order for the next uncross (call phases only)."""
        self._append(self.market_buys if side is BUY else self.market_sells, order)
        self.orders.add(order)
        account = self.accounts.get(order.account)
        if account is None:
            account = self.accounts[order.account] = AccountOrders(order.account)
        order.account = account.name
        head = account.head
        order.account_next = head
        if head is not None:
            head.account_prev = order
        account.head = order
        account.count += 1

    def remove(self, order: Order, out: list[Event]) -> None:
        """Take ``order`` off the book and every index, and report its level."""
        level = order.level
        self.detach(order)
        if level.price:
            self.level_changed(level, out)

    def detach(self, order: Order) -> None:
        """Take ``order`` off its queue and every index; the caller reports the
        level (matching reports each level once, after its last fill)."""
        level = order.level
        prev = order.prev
        nxt = order.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
            order.prev = None
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
            order.next = None
        level.quantity -= order.display
        level.count -= 1
        order_id = order.order_id
        self.orders.remove(order_id)
        self.departed[order_id] = order
        account = self.accounts[order.account]
        prev = order.account_prev
        nxt = order.account_next
        if prev is None:
            account.head = nxt
        else:
            prev.account_next = nxt
            order.account_prev = None
        if nxt is not None:
            nxt.account_prev = prev
            order.account_next = None
        account.count -= 1

    def move_to_back(self, order: Order) -> None:
        """Lose time priority at the same price (iceberg refill, quantity up)."""
        level = order.level
        if level.tail is order:
            return
        self._unlink(level, order)
        self._append(level, order)

    def level_changed(self, level: PriceLevel, out: list[Event]) -> None:
        """Report ``level``'s new totals, dropping the level once it is empty."""
        price = level.price
        if level.side is BUY:
            if price == self.bid_prices[-1]:
                self.top_dirty = True
        elif -price == self.ask_keys[-1]:
            self.top_dirty = True
        out.append(
            _new(
                _LEVEL_CHANGED,
                (self.symbol, level.side, level.price, level.quantity, level.count),
            )
        )
        if level.count == 0:
            self.drop_level(level)

    def drop_level(self, level: PriceLevel) -> None:
        price = level.price
        if level.side is BUY:
            del self.bids[price]
            prices = self.bid_prices
            if prices[-1] == price:
                prices.pop()
            else:
                del prices[bisect_left(prices, price)]
        else:
            del self.asks[price]
            keys = self.ask_keys
            if keys[-1] == -price:
                keys.pop()
            else:
                del keys[bisect_left(keys, -price)]

    def emit_top_of_book(self, out: list[Event]) -> None:
        """Report the best bid and ask if a command changed either.

        Callers on hot paths test ``top_dirty`` first: only a change at a best
        level can change the top of the book.
        """
        self.top_dirty = False
        prices = self.bid_prices
        keys = self.ask_keys
        if prices:
            bid = prices[-1]
            bid_quantity = self.bids[bid].quantity
        else:
            bid = bid_quantity = 0
        if keys:
            ask = -keys[-1]
            ask_quantity = self.asks[ask].quantity
        else:
            ask = ask_quantity = 0
        top = (bid, bid_quantity, ask, ask_quantity)
        if top != self.top:
            self.top = top
            out.append(_new(_TOP_OF_BOOK_CHANGED, (self.symbol, *top)))

    def _append(self, level: PriceLevel, order: Order) -> None:
        order.level = level
        tail = level.tail
        order.next = None
        if tail is None:
            order.prev = None
            level.head = order
        else:
            tail.next = order
            order.prev = tail
        level.tail = order
        level.quantity += order.display
        level.count += 1

    @staticmethod
    def _unlink(level: PriceLevel, order: Order) -> None:
        prev = order.prev
        nxt = order.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        order.prev = order.next = None
        level.quantity -= order.display
        level.count -= 1
