"""Trading phases, the opening and closing auctions, halts and the close.

Prices below are in ticks of 100 units: 10_100 is "101".
"""

import pytest

from matching import (
    AddInstrument,
    AuctionCompleted,
    CancelReason,
    CommandRejected,
    Instrument,
    InstrumentAdded,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    RejectReason,
    SetTradingPhase,
    TimeInForce,
    Trade,
    TradingPhase,
    TradingPhaseChanged,
)
from matching.events import Event
from tests.matching.harness import BUY, SELL, Harness, of

PRE_OPEN = TradingPhase.PRE_OPEN
CONTINUOUS = TradingPhase.CONTINUOUS


def _open(h: Harness) -> list[Event]:
    return h.run(SetTradingPhase(h.tick(), "X", CONTINUOUS))


def _auction(reference: int = 0) -> Harness:
    return Harness(Instrument("X", 100, reference_price=reference), phase=PRE_OPEN)


def test_pre_open_collects_orders_without_matching() -> None:
    h = _auction()
    h.place(BUY, 100, 10_100)
    h.place(SELL, 100, 10_000, account="b")
    assert h.engine.books["X"].best_bid > h.engine.books["X"].best_ask
    ioc = h.order(BUY, 100, 10_100, tif=TimeInForce.IOC)
    assert of(ioc, OrderRejected)[0].reason is RejectReason.NOT_ALLOWED_IN_PHASE
    market = h.place(BUY, 100)
    assert market in h.engine.orders


def test_uncross_at_maximum_volume() -> None:
    h = _auction()
    h.place(BUY, 100, 10_100)
    h.place(BUY, 200, 10_000)
    h.place(SELL, 150, 9_900, account="b")
    h.place(SELL, 100, 10_000, account="b")
    events = _open(h)
    (auction,) = of(events, AuctionCompleted)
    assert (auction.price, auction.quantity) == (10_000, 250)
    trades = of(events, Trade)
    assert {trade.price for trade in trades} == {10_000}
    assert {trade.aggressor_side for trade in trades} == {None}
    assert sum(trade.quantity for trade in trades) == 250
    assert events.index(auction) < events.index(of(events, TradingPhaseChanged)[0])


def test_then_minimum_imbalance() -> None:
    h = _auction()
    h.place(BUY, 200, 10_100)
    h.place(BUY, 50, 10_000)
    h.place(SELL, 100, 10_000, account="b")
    h.place(SELL, 100, 9_900, account="b")
    (auction,) = of(_open(h), AuctionCompleted)
    assert (auction.price, auction.quantity) == (10_100, 200)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [(10_200, 10_200), (10_000, 10_000), (20_000, 10_200), (10_100, 10_000), (0, 10_000)],
)
def test_then_closest_to_reference_then_lowest(reference: int, expected: int) -> None:
    h = _auction(reference)
    h.place(BUY, 100, 10_200)
    h.place(SELL, 100, 10_000, account="b")
    (auction,) = of(_open(h), AuctionCompleted)
    assert auction.price == expected


def test_market_orders_trade_first_and_leftovers_are_cancelled() -> None:
    h = _auction()
    market_buy = h.place(BUY, 100)
    h.place(BUY, 100, 10_000)
    h.place(SELL, 50, 10_000, account="b")
    market_sell = h.place(SELL, 500, account="c")
    events = _open(h)
    buys = {trade.buy_order_id for trade in of(events, Trade)}
    assert market_buy in buys
    (leftover,) = of(events, OrderCancelled)
    assert (leftover.order_id, leftover.reason) == (market_sell, CancelReason.AUCTION_UNEXECUTED)
    book = h.engine.books["X"]
    assert not (book.best_bid and book.best_ask and book.best_bid >= book.best_ask)


def test_iceberg_hidden_quantity_counts_in_the_auction() -> None:
    h = _auction()
    h.place(SELL, 500, 10_000, display=100)
    h.place(BUY, 400, 10_000, account="b")
    (auction,) = of(_open(h), AuctionCompleted)
    assert auction.quantity == 400


def test_closing_auction_then_close_expires_day_orders_only() -> None:
    h = Harness()
    h.run(SetTradingPhase(h.tick(), "X", TradingPhase.CLOSING_AUCTION))
    h.place(BUY, 100, 10_100)
    h.place(SELL, 100, 10_000, account="b")
    day = h.place(BUY, 100, 9_000)
    gtc = h.place(BUY, 100, 8_000, tif=TimeInForce.GTC)
    events = h.run(SetTradingPhase(h.tick(), "X", TradingPhase.CLOSED))
    assert of(events, AuctionCompleted)
    assert [event.order_id for event in of(events, OrderExpired)] == [day]
    assert h.engine.orders.ids() == [gtc]
    refused = h.order(BUY, 100, 9_000)
    assert of(refused, OrderRejected)[0].reason is RejectReason.MARKET_CLOSED


def test_halt_refuses_orders_but_allows_cancels() -> None:
    h = Harness()
    order = h.place(BUY, 100, 10_000)
    h.run(SetTradingPhase(h.tick(), "X", TradingPhase.HALTED))
    refused = h.order(BUY, 100, 10_000)
    assert of(refused, OrderRejected)[0].reason is RejectReason.TRADING_HALTED
    assert of(h.cancel(order), OrderCancelled)
    assert of(_open(h), TradingPhaseChanged)


def test_reopening_from_a_halt_after_pre_open_uncrosses() -> None:
    h = _auction()
    h.place(BUY, 100, 10_100)
    h.place(SELL, 100, 10_000, account="b")
    h.run(SetTradingPhase(h.tick(), "X", TradingPhase.HALTED))
    assert of(_open(h), AuctionCompleted)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (TradingPhase.CLOSED, TradingPhase.CLOSING_AUCTION),
        (TradingPhase.CLOSED, TradingPhase.HALTED),
        (TradingPhase.CONTINUOUS, TradingPhase.CONTINUOUS),
        (TradingPhase.PRE_OPEN, TradingPhase.CLOSING_AUCTION),
    ],
)
def test_invalid_transitions_are_refused(start: TradingPhase, target: TradingPhase) -> None:
    h = Harness(phase=start)
    (rejected,) = of(h.run(SetTradingPhase(h.tick(), "X", target)), CommandRejected)
    assert rejected.reason is RejectReason.INVALID_PHASE_TRANSITION
    assert h.engine.books["X"].phase is start


def test_instruments_are_added_once_and_only_when_sound() -> None:
    h = Harness()
    added = h.run(AddInstrument(h.tick(), Instrument("NEW", 5)))
    assert of(added, InstrumentAdded)
    duplicate = h.run(AddInstrument(h.tick(), Instrument("NEW", 5)))
    assert of(duplicate, CommandRejected)[0].reason is RejectReason.DUPLICATE_SYMBOL
    bad = h.run(AddInstrument(h.tick(), Instrument("BAD", 0)))
    assert of(bad, CommandRejected)[0].reason is RejectReason.INVALID_INSTRUMENT
    unknown = h.run(SetTradingPhase(h.tick(), "NOPE", CONTINUOUS))
    assert of(unknown, CommandRejected)[0].reason is RejectReason.UNKNOWN_SYMBOL
