"""Public market data state, built from committed engine events.

For every symbol this keeps what the contract's market data messages carry:
the level 2 book (aggregated price levels, as the engine's ``LevelChanged``
events describe them), the level 1 quote with the session's statistics, and
the sequence numbers of each channel (L1, L2, TRADES), which count that
channel's updates of that symbol with no gap. It is fed only with committed
commands, in sequence order, so it never shows what a crash could undo.

The book checksum is the contract's: CRC-32 of the top ten levels of each
side written as ``B<price>:<quantity>`` / ``S<price>:<quantity>``.
"""

from __future__ import annotations

import json
import zlib
from bisect import bisect_left, insort
from collections.abc import Iterable
from hashlib import blake2b
from typing import Any, NamedTuple

from matching import (
    AddInstrument,
    Command,
    Engine,
    Event,
    InstrumentAdded,
    InvariantError,
    LevelChanged,
    Side,
    TopOfBookChanged,
    Trade,
    TradingPhase,
    TradingPhaseChanged,
)

CHECKSUM_LEVELS = 10
ADD, UPDATE, DELETE = 1, 2, 3
"""Level actions, numbered as the contract's LevelAction."""


class Level(NamedTuple):
    price: int
    quantity: int
    order_count: int


class LevelChange(NamedTuple):
    side: Side
    price: int
    quantity: int
    order_count: int
    action: int


class QuoteUpdate(NamedTuple):
    """Level 1 after a command: the contract's Quote, field for field."""

    symbol: str
    channel_sequence: int
    sequence: int
    time: int
    bid_price: int
    bid_quantity: int
    ask_price: int
    ask_quantity: int
    last_price: int
    last_quantity: int
    volume: int
    open_price: int
    high_price: int
    low_price: int
    vwap: int
    reference_price: int
    phase: TradingPhase


class DepthUpdate(NamedTuple):
    """The level changes one command made to one book, and the checksum after."""

    symbol: str
    channel_sequence: int
    sequence: int
    time: int
    changes: tuple[LevelChange, ...]
    checksum: int


class TradePrint(NamedTuple):
    symbol: str
    channel_sequence: int
    sequence: int
    time: int
    trade_id: int
    price: int
    quantity: int
    aggressor_side: Side | None


Update = QuoteUpdate | DepthUpdate | TradePrint


class SymbolMarket:
    """The public view of one instrument's market."""

    __slots__ = (
        "_ask_text",
        "_bid_text",
        "ask_keys",
        "asks",
        "bid_prices",
        "bids",
        "high_price",
        "l1_sequence",
        "l2_sequence",
        "last_price",
        "last_quantity",
        "low_price",
        "notional",
        "open_price",
        "phase",
        "reference_price",
        "sequence",
        "symbol",
        "trades_sequence",
        "update_time",
        "volume",
    )

    def __init__(self, symbol: str, phase: TradingPhase, reference_price: int) -> None:
        self.symbol = symbol
        self.phase = phase
        self.reference_price = reference_price
        self.bids: dict[int, tuple[int, int]] = {}
        """Price -> (visible quantity, order count)."""
        self.asks: dict[int, tuple[int, int]] = {}
        self.bid_prices: list[int] = []
        """Bid prices ascending: the best is last (as in the engine's book)."""
        self.ask_keys: list[int] = []
        """Negated ask prices ascending: the best is last."""
        self._bid_text: bytes | None = b""
        self._ask_text: bytes | None = b""
        """Each side's part of the checksum's text, or None once a change
        within its top ``CHECKSUM_LEVELS`` made it stale: a command's depth
        update formats only the sides it changed near the top, and none of a
        change deeper in the book."""
        self.last_price = self.last_quantity = self.volume = self.notional = 0
        self.open_price = self.high_price = self.low_price = 0
        self.l1_sequence = self.l2_sequence = self.trades_sequence = 0
        self.sequence = 0
        """The engine sequence of the last command that changed this market."""
        self.update_time = 0

    # -- reading -------------------------------------------------------------

    def top(self, side: Side, depth: int) -> list[Level]:
        """Up to ``depth`` levels of ``side``, best first."""
        if side is Side.BUY:
            bids = self.bids
            return [Level(price, *bids[price]) for price in self.bid_prices[: -depth - 1 : -1]]
        asks = self.asks
        return [Level(-key, *asks[-key]) for key in self.ask_keys[: -depth - 1 : -1]]

    def best(self, side: Side) -> Level:
        """The best level of ``side``; a zero level when the side is empty."""
        levels = self.top(side, 1)
        return levels[0] if levels else Level(0, 0, 0)

    @property
    def vwap(self) -> int:
        """Session volume-weighted price, rounded to the nearest unit, ties to even."""
        if not self.volume:
            return 0
        quotient, remainder = divmod(self.notional, self.volume)
        twice = 2 * remainder
        if twice > self.volume or (twice == self.volume and quotient % 2):
            quotient += 1
        return quotient

    def checksum(self) -> int:
        """The contract's book checksum: CRC-32 of ``B<price>:<quantity>`` for
        the top bids then ``S<price>:<quantity>`` for the top asks, best
        first, joined by commas."""
        bids = self._bid_text
        if bids is None:
            levels = self.bids
            bids = self._bid_text = ",".join(
                [
                    f"B{price}:{levels[price][0]}"
                    for price in self.bid_prices[: -CHECKSUM_LEVELS - 1 : -1]
                ]
            ).encode("ascii")
        asks = self._ask_text
        if asks is None:
            levels = self.asks
            asks = self._ask_text = ",".join(
                [f"S{-key}:{levels[-key][0]}" for key in self.ask_keys[: -CHECKSUM_LEVELS - 1 : -1]]
            ).encode("ascii")
        if bids and asks:
            return zlib.crc32(asks, zlib.crc32(b",", zlib.crc32(bids)))
        return zlib.crc32(bids or asks)

    # -- changing ------------------------------------------------------------

    def set_level(self, side: Side, price: int, quantity: int, order_count: int) -> int:
        """Set one level; returns the action (ADD, UPDATE or DELETE) it was."""
        buy = side is Side.BUY
        if buy:
            levels, keys, key = self.bids, self.bid_prices, price
        else:
            levels, keys, key = self.asks, self.ask_keys, -price
        if quantity == 0:
            if levels.pop(price, None) is None:
                return DELETE
            index = bisect_left(keys, key)
            near_top = index >= len(keys) - CHECKSUM_LEVELS
            del keys[index]
            action = DELETE
        else:
            old = levels.get(price)
            levels[price] = (quantity, order_count)
            if old is None:
                insort(keys, key)
                action = ADD
            elif old[0] == quantity:
                return UPDATE  # only the order count: not in the checksum
            else:
                action = UPDATE
            near_top = bisect_left(keys, key) >= len(keys) - CHECKSUM_LEVELS
        if near_top:
            if buy:
                self._bid_text = None
            else:
                self._ask_text = None
        return action

    def quote(self) -> QuoteUpdate:
        bid = self.best(Side.BUY)
        ask = self.best(Side.SELL)
        return QuoteUpdate(
            self.symbol, self.l1_sequence, self.sequence, self.update_time,
            bid.price, bid.quantity, ask.price, ask.quantity, self.last_price,
            self.last_quantity, self.volume, self.open_price, self.high_price,
            self.low_price, self.vwap, self.reference_price, self.phase,
        )  # fmt: skip

    def trade(self, price: int, quantity: int) -> None:
        if not self.volume:
            self.open_price = self.high_price = self.low_price = price
        self.high_price = max(self.high_price, price)
        self.low_price = min(self.low_price, price)
        self.last_price, self.last_quantity = price, quantity
        self.volume += quantity
        self.notional += price * quantity
        self.trades_sequence += 1

    # -- state ---------------------------------------------------------------

    def as_state(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "phase": self.phase.value,
            "reference_price": self.reference_price,
            "bids": [list(level) for level in self.top(Side.BUY, len(self.bids))],
            "asks": [list(level) for level in self.top(Side.SELL, len(self.asks))],
            "counters": [
                self.last_price, self.last_quantity, self.volume, self.notional,
                self.open_price, self.high_price, self.low_price, self.l1_sequence,
                self.l2_sequence, self.trades_sequence, self.sequence, self.update_time,
            ],
        }  # fmt: skip

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SymbolMarket:
        market = cls(state["symbol"], TradingPhase(state["phase"]), state["reference_price"])
        for side, key in ((Side.BUY, "bids"), (Side.SELL, "asks")):
            for price, quantity, order_count in state[key]:
                market.set_level(side, price, quantity, order_count)
        (
            market.last_price, market.last_quantity, market.volume, market.notional,
            market.open_price, market.high_price, market.low_price, market.l1_sequence,
            market.l2_sequence, market.trades_sequence, market.sequence, market.update_time,
        ) = state["counters"]  # fmt: skip
        return market

    def check_invariants(self) -> None:
        symbol = self.symbol
        if sorted(self.bids) != self.bid_prices:
            raise InvariantError(f"{symbol}: bid prices out of step with bid levels")
        if sorted(-price for price in self.asks) != self.ask_keys:
            raise InvariantError(f"{symbol}: ask prices out of step with ask levels")
        for levels in (self.bids, self.asks):
            for price, (quantity, count) in levels.items():
                if price <= 0 or quantity <= 0 or count <= 0:
                    raise InvariantError(f"{symbol}: level {price} holds {quantity}/{count}")
        if self._bid_text is not None or self._ask_text is not None:
            cached = self.checksum()
            self._bid_text = self._ask_text = None
            if self.checksum() != cached:
                raise InvariantError(f"{symbol}: cached checksum text out of step with the levels")
        crossed = self.bid_prices and self.ask_keys and self.bid_prices[-1] >= -self.ask_keys[-1]
        if crossed and self.phase is TradingPhase.CONTINUOUS:
            raise InvariantError(f"{symbol}: crossed book in continuous trading")
        if self.volume and not self.low_price <= self.last_price <= self.high_price:
            raise InvariantError(f"{symbol}: last price outside the session's range")


class MarketState:
    """Every symbol's public market, advanced one committed command at a time."""

    def __init__(self) -> None:
        self.markets: dict[str, SymbolMarket] = {}

    @classmethod
    def from_engine(cls, engine: Engine) -> MarketState:
        """The books as the engine holds them now, with fresh channel sequences;
        session statistics start empty. For a new exchange or old snapshots."""
        state = cls()
        for symbol, book in engine.books.items():
            market = SymbolMarket(symbol, book.phase, book.instrument.reference_price)
            for side in (Side.BUY, Side.SELL):
                for level in book.levels(side):
                    market.set_level(side, level.price, level.quantity, level.count)
            state.markets[symbol] = market
        return state

    def apply(
        self, sequence: int, command: Command, events: Iterable[Event], report: bool = True
    ) -> list[Update]:
        """Advance with one committed command; the updates it publishes, in
        order: each symbol's trade prints, then its depth update, then its quote.

        With ``report`` False the state advances exactly as it would (the
        channel sequences included) but no update is built: where nobody
        publishes them (the core, which keeps market data only for its
        snapshots), the checksums and quotes were a quarter of its work."""
        markets = self.markets
        touched_l1: dict[str, SymbolMarket] = {}
        changes: dict[str, list[LevelChange]] = {}
        prints: list[tuple[SymbolMarket, Trade]] = []
        for event in events:
            kind = type(event)
            if kind is LevelChanged:
                assert isinstance(event, LevelChanged)
                market = markets[event.symbol]
                action = market.set_level(
                    event.side, event.price, event.quantity, event.order_count
                )
                changes.setdefault(event.symbol, []).append(
                    LevelChange(event.side, event.price, event.quantity, event.order_count, action)
                )
            elif kind is Trade:
                assert isinstance(event, Trade)
                market = markets[event.symbol]
                market.trade(event.price, event.quantity)
                prints.append((market, event))
                touched_l1[event.symbol] = market
            elif kind is TopOfBookChanged:
                touched_l1[event.symbol] = markets[event.symbol]  # type: ignore[union-attr]
            elif kind is TradingPhaseChanged:
                assert isinstance(event, TradingPhaseChanged)
                market = markets[event.symbol]
                market.phase = event.phase
                touched_l1[event.symbol] = market
            elif kind is InstrumentAdded:
                assert isinstance(event, InstrumentAdded)
                assert isinstance(command, AddInstrument)
                market = SymbolMarket(event.symbol, event.phase, command.instrument.reference_price)
                markets[event.symbol] = market
                touched_l1[event.symbol] = market
        if not (touched_l1 or changes):
            return []
        timestamp = command.timestamp
        if not report:
            for symbol in changes:
                market = markets[symbol]
                market.l2_sequence += 1
                market.sequence, market.update_time = sequence, timestamp
            for market in touched_l1.values():
                market.l1_sequence += 1
                market.sequence, market.update_time = sequence, timestamp
            return []
        updates: list[Update] = []
        # Each market counted this command's prints already; number them back.
        first = {market.symbol: market.trades_sequence for market, _ in reversed(prints)}
        for market, _ in prints:
            first[market.symbol] -= 1
        for market, trade in prints:
            first[market.symbol] += 1
            updates.append(
                TradePrint(
                    market.symbol, first[market.symbol], sequence, timestamp,
                    trade.trade_id, trade.price, trade.quantity, trade.aggressor_side,
                )
            )  # fmt: skip
        for symbol, made in changes.items():
            market = markets[symbol]
            market.l2_sequence += 1
            market.sequence, market.update_time = sequence, timestamp
            updates.append(
                DepthUpdate(
                    symbol, market.l2_sequence, sequence, timestamp, tuple(made),
                    market.checksum(),
                )
            )  # fmt: skip
        for market in touched_l1.values():
            market.l1_sequence += 1
            market.sequence, market.update_time = sequence, timestamp
            updates.append(market.quote())
        return updates

    # -- state ---------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.markets[symbol].as_state() for symbol in sorted(self.markets)]

    @classmethod
    def restore(cls, state: list[dict[str, Any]]) -> MarketState:
        restored = cls()
        for item in state:
            market = SymbolMarket.from_state(item)
            restored.markets[market.symbol] = market
        return restored

    def state_hash(self) -> str:
        canonical = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"))
        return blake2b(canonical.encode(), digest_size=16).hexdigest()

    def check_invariants(self) -> None:
        for symbol, market in self.markets.items():
            if market.symbol != symbol:
                raise InvariantError(f"market {market.symbol} filed under {symbol}")
            market.check_invariants()

    def matches_engine(self, engine: Engine) -> bool:
        """Whether every book here is level for level the engine's book."""
        if self.markets.keys() != engine.books.keys():
            return False
        mirror = MarketState.from_engine(engine)
        return all(
            market.top(side, len(market.bids) + len(market.asks))
            == mirror.markets[symbol].top(side, len(market.bids) + len(market.asks))
            for symbol, market in self.markets.items()
            for side in (Side.BUY, Side.SELL)
        )
