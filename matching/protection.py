"""Market protection: volatility bands per instrument, market-wide circuit breakers.

A volatility band (limit-up/limit-down in spirit, Xetra's static range in
its reference) keeps every continuous trade within ``volatility_band_bps`` of
the band's reference price: the previous close, then the price of each
auction. An order that would trade beyond it trades up to the band, and then
the instrument pauses: a call phase of ``pause_ns`` that ends in a
reopening auction, whose price becomes the new reference.

The circuit breaker watches an equal-weighted market index: the mean, over
every instrument with a previous close, of how far its last trade is below
that close, in basis points. When the fall reaches a level (7%, 13%, 20% by
default in the server's configuration), every instrument halts for that
level's duration, then reopens through a call phase; a duration of 0 halts
for the rest of the day. Each level trips once a day; the count resets when
every instrument has closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from matching.book import OrderBook
from matching.commands import ConfigureControls
from matching.enums import Side
from matching.instrument import BASIS_POINTS

_BUY: Final = Side.BUY
DEFAULT_CONTROLS: Final = ConfigureControls(0, False)
"""No limits enforced, no circuit breaker: what a bare engine starts with."""


def band_key(book: OrderBook, side: Side, key: int) -> int:
    """The matching key of an incoming order (see ``matcher``), narrowed so
    that it cannot trade outside the band."""
    bound = -book.band_high if side is _BUY else book.band_low
    return bound if bound > key else key


def outside_band(book: OrderBook, keys: list[int]) -> bool:
    """Whether the best opposite order (the last of ``keys``, the opposite
    side's sorted keys) rests outside the band, so that any trade with it
    would print outside: a bid above the band or an ask below it."""
    best = abs(keys[-1])
    return best > book.band_high or best < book.band_low


def _fall_part(book: OrderBook) -> int:
    close = book.previous_close
    return (close - (book.last_trade_price or close)) * BASIS_POINTS // close


class MarketIndex:
    """``index_fall_bps`` kept as a running sum, so that a trade in one
    instrument updates one term instead of visiting every book. Derived
    state: rebuilt from the books whenever ``invalidate`` was called."""

    def __init__(self) -> None:
        self.parts: dict[str, int] | None = None
        self.total = 0

    def invalidate(self) -> None:
        self.parts = None

    def fall(self, books: dict[str, OrderBook], changed: OrderBook | None) -> int:
        parts = self.parts
        if parts is None or changed is None:
            parts = self.parts = {
                symbol: _fall_part(book) for symbol, book in books.items() if book.previous_close
            }
            self.total = sum(parts.values())
        elif changed.symbol in parts:
            part = _fall_part(changed)
            self.total += part - parts[changed.symbol]
            parts[changed.symbol] = part
        return self.total // len(parts) if parts else 0


def index_fall_bps(books: Iterable[OrderBook]) -> int:
    """How far the equal-weighted index is below the previous close (negative
    when above), in basis points."""
    parts = [_fall_part(book) for book in books if book.previous_close]
    return sum(parts) // len(parts) if parts else 0


def levels_reached(levels: tuple[tuple[int, int], ...], tripped: int, fall: int) -> int:
    """How many breaker levels a fall of ``fall`` bps has reached, counting the
    ``tripped`` ones already."""
    reached = tripped
    while reached < len(levels) and fall >= levels[reached][0]:
        reached += 1
    return reached


def controls_error(command: ConfigureControls) -> str | None:
    """Why these controls cannot be used, or None."""
    if type(command.enforce_limits) is not bool:
        return "enforce_limits must be true or false"
    if command.pause_ns < 0 or command.reopen_call_ns < 0:
        return "pause and reopening call durations must not be negative"
    protection = command.market_protection_bps
    if type(protection) is not int or not 0 <= protection <= BASIS_POINTS:
        return f"market_protection_bps must be a whole number within 0-10000, not {protection!r}"
    previous = 0
    for fall, halt in command.breaker_levels:
        if not previous < fall < BASIS_POINTS or halt < 0:
            return (
                "breaker levels must rise strictly within (0, 10000) bps, "
                f"with durations >= 0; got {command.breaker_levels!r}"
            )
        previous = fall
    return None
