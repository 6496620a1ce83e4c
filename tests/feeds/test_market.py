"""The public market state (feeds/market.py) against the engine it follows."""

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.market import MarketState, SymbolMarket
from matching import (
    AddInstrument,
    Engine,
    Instrument,
    InvariantError,
    NewOrder,
    OrderType,
    SetTradingPhase,
    Side,
    TimeInForce,
    TradingPhase,
)
from matching.commands import Command
from tests.matching.test_properties import _command, actions


def _limit(when: int, account: str, side: Side, quantity: int, price: int) -> NewOrder:
    return NewOrder(when, account, "X", side, OrderType.LIMIT, quantity, price, TimeInForce.GTC)


class Feed:
    """An engine and the market state fed from its events, as the server does."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.market = MarketState()
        self.sequence = 0
        self.send(AddInstrument(1, Instrument("X", 1, reference_price=100)))

    def send(self, command: Command) -> None:
        self.sequence += 1
        self.market.apply(self.sequence, command, self.engine.process(command))

    @property
    def x(self) -> SymbolMarket:
        return self.market.markets["X"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_every_book_matches_the_engine_level_by_level(stream: list[tuple[object, ...]]) -> None:
    feed = Feed()
    issued: list[tuple[int, str]] = []
    now = 2
    for action in stream:
        now += 1
        command = _command(action, now, issued)
        now = max(now, command.timestamp)
        l2_before = feed.x.l2_sequence
        feed.sequence += 1
        events = feed.engine.process(command)
        feed.market.apply(feed.sequence, command, events)
        issued.extend(
            (event.order_id, event.account)  # type: ignore[union-attr]
            for event in events
            if type(event).__name__ == "OrderAccepted"
        )
        assert feed.market.matches_engine(feed.engine)
        feed.market.check_invariants()
        changed = any(type(event).__name__ == "LevelChanged" for event in events)
        # One L2 update per command that changed the book: no gap, no repeat.
        assert feed.x.l2_sequence == l2_before + (1 if changed else 0)
    restored = MarketState.restore(feed.market.snapshot())
    assert restored.state_hash() == feed.market.state_hash()
    assert MarketState.from_engine(feed.engine).snapshot()[0]["bids"] == feed.x.as_state()["bids"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_a_market_that_reports_nothing_keeps_the_same_state(
    stream: list[tuple[object, ...]],
) -> None:
    # The core keeps market data for its snapshots only and builds no updates.
    reporting = Feed()
    silent = MarketState.restore(reporting.market.snapshot())
    issued: list[tuple[int, str]] = []
    now = 2
    for action in stream:
        now += 1
        command = _command(action, now, issued)
        now = max(now, command.timestamp)
        reporting.sequence += 1
        events = reporting.engine.process(command)
        reporting.market.apply(reporting.sequence, command, events)
        assert silent.apply(reporting.sequence, command, events, False) == []
        issued.extend(
            (event.order_id, event.account)  # type: ignore[union-attr]
            for event in events
            if type(event).__name__ == "OrderAccepted"
        )
    assert silent.snapshot() == reporting.market.snapshot()


def test_quote_statistics_and_channel_sequences() -> None:
    feed = Feed()
    feed.send(_limit(2, "a", Side.SELL, 300, 101))
    feed.send(_limit(3, "a", Side.SELL, 100, 103))
    feed.send(_limit(4, "b", Side.BUY, 200, 101))
    feed.send(_limit(5, "b", Side.BUY, 150, 103))
    x = feed.x
    assert (x.open_price, x.high_price, x.low_price, x.last_price) == (101, 103, 101, 103)
    assert (x.volume, x.last_quantity) == (350, 50)
    # (200*101 + 100*101 + 50*103) / 350 = 101.2857 -> 101
    assert x.vwap == 101
    assert x.trades_sequence == 3
    assert x.sequence == 5
    assert x.update_time == 5
    # A top-of-book change, a trade or a phase change each count once per command.
    l1 = x.l1_sequence
    feed.send(SetTradingPhase(6, "X", TradingPhase.HALTED))
    assert x.l1_sequence == l1 + 1
    assert x.phase is TradingPhase.HALTED


def test_vwap_rounds_half_to_even() -> None:
    market = SymbolMarket("X", TradingPhase.CONTINUOUS, 100)
    market.trade(100, 1)
    market.trade(101, 1)  # 100.5 -> 100
    assert market.vwap == 100
    market.trade(102, 2)  # (100 + 101 + 204) / 4 = 101.25 -> 101
    assert market.vwap == 101
    other = SymbolMarket("Y", TradingPhase.CONTINUOUS, 100)
    other.trade(101, 1)
    other.trade(102, 1)  # 101.5 -> 102
    assert other.vwap == 102


def test_checksum_is_the_contract_example() -> None:
    market = SymbolMarket("X", TradingPhase.CONTINUOUS, 0)
    assert market.checksum() == 0
    market.set_level(Side.BUY, 1_234_500, 300, 2)
    market.set_level(Side.SELL, 1_234_600, 200, 1)
    assert market.checksum() == zlib.crc32(b"B1234500:300,S1234600:200")


def test_checksum_covers_the_top_ten_levels_best_first() -> None:
    market = SymbolMarket("X", TradingPhase.CONTINUOUS, 0)
    for offset in range(12):
        market.set_level(Side.BUY, 100 - offset, 10 + offset, 1)
        market.set_level(Side.SELL, 200 + offset, 20 + offset, 1)
    bids = ",".join(f"B{100 - n}:{10 + n}" for n in range(10))
    asks = ",".join(f"S{200 + n}:{20 + n}" for n in range(10))
    assert market.checksum() == zlib.crc32(f"{bids},{asks}".encode())
    market.set_level(Side.BUY, 100, 0, 0)
    assert [level.price for level in market.top(Side.BUY, 2)] == [99, 98]


def _checksum_from_scratch(market: SymbolMarket) -> int:
    parts = [f"B{level.price}:{level.quantity}" for level in market.top(Side.BUY, 10)]
    parts += [f"S{level.price}:{level.quantity}" for level in market.top(Side.SELL, 10)]
    return zlib.crc32(",".join(parts).encode())


@given(
    st.lists(
        st.tuples(
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 30),
            st.integers(0, 3),
            st.integers(1, 3),
        ),
        max_size=120,
    )
)
def test_the_cached_checksum_text_follows_every_change(
    changes: list[tuple[Side, int, int, int]],
) -> None:
    # Each side's text is kept between depth updates and formatted again only
    # after a change within its top ten: deep changes, count-only changes and
    # changes that push a level out of (or pull one into) the top ten must
    # all leave it equal to the text built from scratch.
    market = SymbolMarket("X", TradingPhase.PRE_OPEN, 0)
    for side, price, quantity, count in changes:
        market.set_level(side, price if side is Side.BUY else 100 + price, quantity, count)
        assert market.checksum() == _checksum_from_scratch(market)
    market.check_invariants()


def test_invariant_checks_catch_a_stale_checksum_text() -> None:
    market = SymbolMarket("X", TradingPhase.CONTINUOUS, 0)
    market.set_level(Side.BUY, 100, 10, 1)
    market.checksum()
    market.bids[100] = (11, 1)  # a level changed behind set_level's back
    with pytest.raises(InvariantError, match="checksum"):
        market.check_invariants()


def test_invariant_checks_catch_a_corrupted_book() -> None:
    market = SymbolMarket("X", TradingPhase.CONTINUOUS, 0)
    market.set_level(Side.BUY, 100, 10, 1)
    market.set_level(Side.SELL, 100, 10, 1)
    with pytest.raises(InvariantError, match="crossed"):
        market.check_invariants()
    market.asks.clear()
    with pytest.raises(InvariantError, match="ask prices"):
        market.check_invariants()
