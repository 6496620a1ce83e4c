"""Market protection (issue 8, section 3): the volatility band pauses an
instrument and reopens it with an auction; the market-wide circuit breaker
halts every instrument at 7%, 13% and 20% below the previous close.

Instruments have a tick of 1 and a previous close of 10_000; the band of
500 bps is [9_500, 10_500] until an auction re-centres it.
"""

import pytest

from matching import (
    AuctionCompleted,
    CancelReason,
    Instrument,
    NewOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderReplaced,
    OrderType,
    RejectReason,
    Side,
    StopTriggered,
    TimeInForce,
    Trade,
    TradingPaused,
    TradingPhase,
    TradingPhaseChanged,
)
from matching.events import Event
from tests.matching.harness import BUY, SELL, kinds, of
from tests.matching.risk_harness import SECOND, RiskHarness, cancel_rejected, instrument

PAUSE = 10 * SECOND
REOPEN = 5 * SECOND
PRE_OPEN = TradingPhase.PRE_OPEN
CONTINUOUS = TradingPhase.CONTINUOUS
HALTED = TradingPhase.HALTED
CLOSED = TradingPhase.CLOSED


def _band() -> RiskHarness:
    h = RiskHarness(instrument(band_bps=500), enforce=False, pause_ns=PAUSE, reopen_call_ns=REOPEN)
    book = h.engine.books["X"]
    assert (book.band_low, book.band_high) == (9_500, 10_500)
    return h


def _asks(h: RiskHarness, *prices: int, quantity: int = 50) -> None:
    for price in prices:
        h.place(SELL, quantity, price, account="b")


def _trades(events: list[Event]) -> list[tuple[int, int]]:
    return [(t.price, t.quantity) for t in of(events, Trade)]


# -- volatility band -----------------------------------------------------------


def test_aggressive_buy_trades_up_to_the_band_then_pauses_and_reopens() -> None:
    h = _band()
    _asks(h, 10_400, 10_500, 10_600)
    events = h.order(BUY, 200, 10_700)
    now = h.clock
    assert _trades(events) == [(10_400, 50), (10_500, 50)]
    (paused,) = of(events, TradingPaused)
    assert paused == TradingPaused("X", "price_band", 0, 10_600, 9_500, 10_500, now + PAUSE)
    assert of(events, TradingPhaseChanged) == [TradingPhaseChanged("X", PRE_OPEN)]
    assert events.index(paused) > events.index(of(events, Trade)[-1])
    book = h.engine.books["X"]
    assert (book.phase, book.resume_at) == (PRE_OPEN, now + PAUSE)
    # The remainder rests crossed, waiting for the auction.
    assert h.book()["BUY"] == [(10_700, [(4, 100, 100)])]
    assert (book.best_bid, book.best_ask) == (10_700, 10_600)

    # Orders are collected during the pause; nothing trades.
    events = h.order(SELL, 30, 10_650, account="c")
    assert kinds(events)[0] == "OrderAccepted"
    assert not of(events, Trade)
    ioc = h.order(BUY, 10, 10_700, tif=TimeInForce.IOC)
    assert of(ioc, OrderRejected)[0].reason is RejectReason.NOT_ALLOWED_IN_PHASE

    assert h.advance_to(now + PAUSE - 1) == []
    events = h.advance_to(now + PAUSE)
    # Maximum volume 80 at 10_650 and at 10_700; closest to the last trade wins.
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 10_650, 80)]
    assert _trades(events) == [(10_650, 50), (10_650, 30)]
    assert of(events, TradingPhaseChanged) == [TradingPhaseChanged("X", CONTINUOUS)]
    assert (book.phase, book.resume_at) == (CONTINUOUS, 0)
    # The band re-centres on the auction price: 10_650 +- 532.
    assert (book.band_reference, book.band_low, book.band_high) == (10_650, 10_118, 11_182)


def test_the_new_band_holds_after_the_reopening() -> None:
    h = _band()
    _asks(h, 10_600)
    h.order(BUY, 50, 10_600)
    events = h.advance_to(h.clock + PAUSE)
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 10_600, 50)]
    book = h.engine.books["X"]
    assert (book.band_low, book.band_high) == (10_070, 11_130)
    # 11_130 is inside the new band (it was far outside the old one) ...
    _asks(h, 11_130, 11_131)
    events = h.order(BUY, 50, 11_130)
    assert _trades(events) == [(11_130, 50)]
    assert not of(events, TradingPaused)
    # ... and 11_131 is one tick beyond it.
    events = h.order(BUY, 50, 11_131)
    assert _trades(events) == []
    assert of(events, TradingPaused)[0][3:6] == (11_131, 10_070, 11_130)


def test_a_trade_exactly_at_the_band_edge_does_not_pause() -> None:
    h = _band()
    _asks(h, 10_500)
    events = h.order(BUY, 50, 10_500)
    assert _trades(events) == [(10_500, 50)]
    assert not of(events, TradingPaused)
    assert h.engine.books["X"].phase is CONTINUOUS
    _asks(h, 10_501)
    events = h.order(BUY, 50, 10_501)
    assert _trades(events) == []
    assert of(events, TradingPaused)[0].price == 10_501
    assert h.engine.books["X"].phase is PRE_OPEN


@pytest.mark.parametrize(
    ("resting", "price"), [(BUY, 10_600), (SELL, 9_400)], ids=["bid_above", "ask_below"]
)
def test_no_trade_prints_outside_the_band_whichever_side_rests(resting: Side, price: int) -> None:
    """A resting order beyond the band on the aggressor's near side (a bid
    above the band, hit by a sell; an ask below it, lifted by a buy) must not
    print outside the band either: that trade pauses the instrument.

    Fails today: ``protection.band_key`` only narrows the aggressor's limit
    towards its far side (a buy's upper edge, a sell's lower edge), so a sell
    hits a bid resting at 10_600 and prints there, 100 above the band.
    """
    h = _band()
    entered = h.order(resting, 10, price)  # no opposite order: it rests
    aggressor = SELL if resting is BUY else BUY
    events = h.order(aggressor, 10, 10_000, account="b")
    prints = [t.price for t in of(entered + events, Trade)]
    assert all(9_500 <= p <= 10_500 for p in prints), prints
    if of(entered, OrderAccepted):
        (paused,) = of(events, TradingPaused)
        assert (paused.cause, paused.price) == ("price_band", price)
        assert h.engine.books["X"].phase is PRE_OPEN


def test_aggressive_sell_pauses_at_the_lower_edge() -> None:
    h = _band()
    h.place(BUY, 50, 9_500, account="b")
    h.place(BUY, 50, 9_499, account="b")
    events = h.order(SELL, 100)  # market
    assert _trades(events) == [(9_500, 50)]
    (paused,) = of(events, TradingPaused)
    assert (paused.price, paused.lower, paused.upper) == (9_499, 9_500, 10_500)
    # The market remainder waits in the call for the reopening auction.
    book = h.engine.books["X"]
    assert [o.remaining for o in book.market_sells.orders()] == [50]
    events = h.advance_to(h.clock + PAUSE)
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 9_499, 50)]
    assert book.market_sells.count == 0


def test_ioc_remainder_is_cancelled_when_the_band_pauses() -> None:
    h = _band()
    _asks(h, 10_400, 10_600)
    events = h.order(BUY, 100, 10_700, tif=TimeInForce.IOC)
    assert _trades(events) == [(10_400, 50)]
    assert of(events, TradingPaused)
    (cancelled,) = of(events, OrderCancelled)
    assert (cancelled.cancelled_quantity, cancelled.reason) == (
        50,
        CancelReason.IMMEDIATE_OR_CANCEL,
    )
    assert h.book()["BUY"] == []
    assert h.engine.books["X"].phase is PRE_OPEN


def test_fok_beyond_the_band_is_killed_without_trading() -> None:
    h = _band()
    _asks(h, 10_400, 10_600)
    events = h.order(BUY, 100, 10_700, tif=TimeInForce.FOK)
    assert _trades(events) == []
    assert of(events, OrderCancelled)[0].reason is CancelReason.FILL_OR_KILL


def test_replace_into_the_band_pauses_too() -> None:
    h = _band()
    order = h.place(BUY, 100, 10_000)
    _asks(h, 10_400, 10_600)
    events = h.replace(order, 10_700, 100)
    now = h.clock
    assert of(events, OrderReplaced)
    assert _trades(events) == [(10_400, 50)]
    (paused,) = of(events, TradingPaused)
    assert paused == TradingPaused("X", "price_band", 0, 10_600, 9_500, 10_500, now + PAUSE)
    assert h.engine.books["X"].phase is PRE_OPEN
    events = h.advance_to(now + PAUSE)
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 10_600, 50)]
    assert h.engine.books["X"].band_reference == 10_600


def test_sell_replace_into_the_band_pauses() -> None:
    h = _band()
    order = h.place(SELL, 100, 10_000, account="b")
    h.place(BUY, 40, 9_600)
    h.place(BUY, 40, 9_400)
    events = h.replace(order, 9_300, 100, account="b")
    assert _trades(events) == [(9_600, 40)]
    assert of(events, TradingPaused)[0].price == 9_400


def test_stops_do_not_fire_into_a_pause_but_after_the_reopening() -> None:
    h = _band()
    stop = h.place(BUY, 10, order_type=OrderType.STOP, stop=10_300, account="s")
    _asks(h, 10_300, 10_600, 10_700)
    events = h.order(BUY, 60, 10_700)  # 10_300 then the band: pause
    assert of(events, TradingPaused)
    assert not of(events, StopTriggered)
    assert stop in h.engine.stops
    events = h.advance_to(h.clock + PAUSE)
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 10_600, 10)]
    (triggered,) = of(events, StopTriggered)
    assert triggered.order_id == stop
    assert events.index(triggered) > events.index(of(events, TradingPhaseChanged)[0])


def test_manual_phase_change_overrides_the_scheduled_reopening() -> None:
    h = _band()
    _asks(h, 10_600)
    h.order(BUY, 50, 10_600)
    resume = h.engine.books["X"].resume_at
    events = h.phase(CONTINUOUS)
    assert of(events, AuctionCompleted)
    assert h.engine.books["X"].resume_at == 0
    h.phase(PRE_OPEN)
    assert h.advance_to(resume) == []
    assert h.engine.books["X"].phase is PRE_OPEN


def test_no_band_without_a_reference_price() -> None:
    h = RiskHarness(Instrument("X", 1, volatility_band_bps=500), enforce=False)
    h.place(SELL, 10, 50_000, account="b")
    events = h.order(BUY, 10, 50_000)
    assert _trades(events) == [(50_000, 10)]
    assert not of(events, TradingPaused)


# -- circuit breaker -----------------------------------------------------------

HALT_1 = 60 * SECOND
HALT_2 = 120 * SECOND
LEVELS = ((700, HALT_1), (1300, HALT_2), (2000, 0))


def _market() -> RiskHarness:
    return RiskHarness(
        instrument("A"),
        instrument("B"),
        enforce=False,
        reopen_call_ns=REOPEN,
        breaker_levels=LEVELS,
    )


def _print(h: RiskHarness, symbol: str, price: int, quantity: int = 10) -> list[Event]:
    """A trade of ``quantity`` at ``price`` in ``symbol``; the aggressor's events."""
    h.place(BUY, quantity, price, account="buyer", symbol=symbol)
    events = h.order(SELL, quantity, price, account="seller", symbol=symbol)
    assert _trades(events) == [(price, quantity)]
    return events


def _phases(h: RiskHarness) -> tuple[TradingPhase, ...]:
    return tuple(book.phase for book in h.engine.books.values())


def test_level_one_at_exactly_seven_percent_halts_every_instrument() -> None:
    h = _market()
    # A 13.99% below its close, B unchanged: the index is 6.99% down.
    events = _print(h, "A", 8_601)
    assert not of(events, TradingPaused)
    events = _print(h, "A", 8_600)
    now = h.clock
    assert of(events, TradingPaused) == [
        TradingPaused("A", "circuit_breaker", 1, 700, 0, 0, now + HALT_1),
        TradingPaused("B", "circuit_breaker", 1, 700, 0, 0, now + HALT_1),
    ]
    assert of(events, TradingPhaseChanged) == [
        TradingPhaseChanged("A", HALTED),
        TradingPhaseChanged("B", HALTED),
    ]
    assert _phases(h) == (HALTED, HALTED)
    assert h.engine.breakers_tripped == 1
    for symbol in ("A", "B"):
        refused = h.order(BUY, 1, 9_000, symbol=symbol)
        assert of(refused, OrderRejected)[0].reason is RejectReason.TRADING_HALTED


def test_from_trigger_to_reopening_auction() -> None:
    h = _market()
    resting = h.place(BUY, 5, 8_000, account="c", symbol="B")
    _print(h, "A", 8_600)
    halted_at = h.clock
    # Halted: cancels go through, replaces and new orders do not.
    assert cancel_rejected(h.replace(resting, 8_100, 5, account="c")).reason is (
        RejectReason.TRADING_HALTED
    )
    assert of(h.cancel(resting, account="c"), OrderCancelled)
    assert h.advance_to(halted_at + HALT_1 - 1) == []

    events = h.advance_to(halted_at + HALT_1)
    assert of(events, TradingPhaseChanged) == [
        TradingPhaseChanged("A", PRE_OPEN),
        TradingPhaseChanged("B", PRE_OPEN),
    ]
    assert not of(events, AuctionCompleted)
    # The reopening call collects orders.
    h.place(BUY, 20, 8_700, account="c", symbol="A")
    h.place(SELL, 15, 8_650, account="d", symbol="A")
    h.place(BUY, 5, symbol="A")
    assert h.advance_to(halted_at + HALT_1 + REOPEN - 1) == []

    events = h.advance_to(halted_at + HALT_1 + REOPEN)
    # 15 at 8_650 or 8_700, surplus 10 at both: the one closer to 8_600.
    assert of(events, AuctionCompleted) == [AuctionCompleted("A", 8_650, 15)]
    assert of(events, TradingPhaseChanged) == [
        TradingPhaseChanged("A", CONTINUOUS),
        TradingPhaseChanged("B", CONTINUOUS),
    ]
    assert events.index(of(events, AuctionCompleted)[0]) < events.index(
        of(events, TradingPhaseChanged)[0]
    )
    assert _phases(h) == (CONTINUOUS, CONTINUOUS)
    assert [book.resume_at for book in h.engine.books.values()] == [0, 0]
    # Level 1 trips once a day: back at 7% down, nothing halts again.
    h.place(BUY, 10, 8_600, account="buyer", symbol="A")
    events = h.order(SELL, 20, 8_600, account="seller", symbol="A")
    assert _trades(events) == [(8_700, 10), (8_600, 10)]  # c's 10 left, then 8_600
    assert not of(events, TradingPaused)
    assert h.engine.breakers_tripped == 1


def test_level_two_then_level_three_halts_for_the_day() -> None:
    h = _market()
    _print(h, "A", 8_600)
    h.advance_to(h.clock + HALT_1 + REOPEN)
    assert _phases(h) == (CONTINUOUS, CONTINUOUS)
    # A 14% down, B 12% down: 13%.
    events = _print(h, "B", 8_800)
    now = h.clock
    assert of(events, TradingPaused) == [
        TradingPaused("A", "circuit_breaker", 2, 1300, 0, 0, now + HALT_2),
        TradingPaused("B", "circuit_breaker", 2, 1300, 0, 0, now + HALT_2),
    ]
    h.advance_to(now + HALT_2 + REOPEN)
    assert _phases(h) == (CONTINUOUS, CONTINUOUS)
    # A 28% down, B 12%: 20%.
    events = _print(h, "A", 7_200)
    assert of(events, TradingPaused) == [
        TradingPaused("A", "circuit_breaker", 3, 2000, 0, 0, 0),
        TradingPaused("B", "circuit_breaker", 3, 2000, 0, 0, 0),
    ]
    assert h.engine.breakers_tripped == 3
    assert all(book.resume_at == 0 for book in h.engine.books.values())
    assert h.advance_to(h.clock + 10**6 * SECOND) == []
    assert _phases(h) == (HALTED, HALTED)
    # Only a person reopens it.
    h.phase(PRE_OPEN, "A")
    h.phase(CONTINUOUS, "A")
    assert _phases(h) == (CONTINUOUS, HALTED)
    events = _print(h, "A", 5_000)
    assert not of(events, TradingPaused)


def test_a_big_fall_trips_the_highest_level_it_reaches() -> None:
    h = _market()
    events = _print(h, "A", 7_000)  # A 30%, index 15%
    now = h.clock
    assert {(e.level, e.price, e.resume_time) for e in of(events, TradingPaused)} == {
        (2, 1500, now + HALT_2)
    }
    assert h.engine.breakers_tripped == 2


def test_manual_phase_change_overrides_a_scheduled_resume() -> None:
    h = _market()
    _print(h, "A", 8_600)
    halted_at = h.clock
    h.phase(CONTINUOUS, "A")
    assert h.engine.books["A"].resume_at == 0
    events = h.advance_to(halted_at + HALT_1)
    assert of(events, TradingPhaseChanged) == [TradingPhaseChanged("B", PRE_OPEN)]
    events = h.advance_to(halted_at + HALT_1 + REOPEN)
    assert of(events, TradingPhaseChanged) == [TradingPhaseChanged("B", CONTINUOUS)]
    assert _phases(h) == (CONTINUOUS, CONTINUOUS)


def test_closing_every_instrument_resets_the_levels() -> None:
    h = _market()
    _print(h, "A", 8_600)
    h.phase(CLOSED, "A")
    assert h.engine.breakers_tripped == 1  # B is still open (halted)
    h.phase(CLOSED, "B")
    assert h.engine.breakers_tripped == 0
    assert [book.resume_at for book in h.engine.books.values()] == [0, 0]
    assert [book.previous_close for book in h.engine.books.values()] == [8_600, 10_000]
    h.phase(CONTINUOUS, "A")
    h.phase(CONTINUOUS, "B")
    # The next day counts from the new close: A 14% below 8_600 is 7_396.
    assert not of(_print(h, "A", 7_397), TradingPaused)
    events = _print(h, "A", 7_396)
    assert [e.level for e in of(events, TradingPaused)] == [1, 1]


def test_breaker_checks_the_auction_when_a_person_reopens() -> None:
    h = _market()
    _print(h, "A", 8_600)
    h.phase(PRE_OPEN, "A")
    h.place(BUY, 10, 7_400, account="c", symbol="A")
    h.place(SELL, 10, 7_400, account="d", symbol="A")
    events = h.phase(CONTINUOUS, "A")  # A 26% down, B 0: 13%
    now = h.clock
    assert of(events, AuctionCompleted) == [AuctionCompleted("A", 7_400, 10)]
    (paused,) = [e for e in of(events, TradingPaused) if e.symbol == "A"]
    assert paused == TradingPaused("A", "circuit_breaker", 2, 1300, 0, 0, now + HALT_2)
    assert of(events, TradingPhaseChanged)[-1] == TradingPhaseChanged("A", HALTED)
    assert _phases(h) == (HALTED, HALTED)
    assert h.engine.breakers_tripped == 2
    # B, still halted by level 1, now waits for level 2's end like A.
    assert [book.resume_at for book in h.engine.books.values()] == [now + HALT_2] * 2
    assert h.advance_to(now + HALT_2 - 1) == []


def test_a_higher_level_holds_instruments_that_are_still_halted() -> None:
    """Level 3 halts the market for the rest of the day, B included, even
    when B was still halted by level 1 at that moment.

    Regression (fixed in 87b08d1): ``Engine._check_breaker`` skipped a book
    that was HALTED already and so left its level-1 resumption scheduled: B
    reopened on its own after a level-3 halt.
    """
    h = _market()
    _print(h, "A", 8_600)
    halted_at = h.clock
    h.phase(CONTINUOUS, "A")  # a person reopens A alone
    events = _print(h, "A", 5_000)  # A 50% down, B 0: 25%
    paused = of(events, TradingPaused)[0]
    assert (paused.symbol, paused.level, paused.resume_time) == ("A", 3, 0)
    assert h.engine.breakers_tripped == 3
    assert [book.resume_at for book in h.engine.books.values()] == [0, 0]
    events = h.advance_to(halted_at + HALT_1 + REOPEN)
    assert events == []
    assert _phases(h) == (HALTED, HALTED)


def test_breaker_checks_the_scheduled_reopening_auction() -> None:
    """The reopening auction the schedule runs is a trade like any other: when
    it takes the index to the next level, that level trips at once.

    Regression (fixed in 87b08d1): ``Engine.process`` took ``trades_before``
    after running the schedule, so auction trades made by ``_run_schedule``
    never reached ``_check_breaker``; the market reopened 13% down.
    """
    h = _market()
    _print(h, "A", 8_600)
    halted_at = h.clock
    h.advance_to(halted_at + HALT_1)
    h.place(BUY, 10, 7_400, account="c", symbol="A")
    h.place(SELL, 10, 7_400, account="d", symbol="A")
    events = h.advance_to(halted_at + HALT_1 + REOPEN)
    assert of(events, AuctionCompleted) == [AuctionCompleted("A", 7_400, 10)]
    assert [(e.symbol, e.level) for e in of(events, TradingPaused)] == [("A", 2), ("B", 2)]
    assert _phases(h) == (HALTED, HALTED)


def test_band_pause_and_breaker_together() -> None:
    """A breaker halt replaces a band pause's scheduled reopening."""
    h = RiskHarness(
        instrument("A", band_bps=1_000),
        instrument("B"),
        enforce=False,
        pause_ns=PAUSE,
        reopen_call_ns=REOPEN,
        breaker_levels=LEVELS,
    )
    h.place(BUY, 10, 9_000, account="b", symbol="A")
    h.place(BUY, 10, 8_000, account="b", symbol="A")
    events = h.order(SELL, 20, 8_000, symbol="A")
    assert _trades(events) == [(9_000, 10)]  # A 10%, index 5%: no breaker
    assert [e.cause for e in of(events, TradingPaused)] == ["price_band"]
    events = _print(h, "B", 9_000)  # index (1000 + 1000) / 2 = 10%
    now = h.clock
    assert [(e.symbol, e.cause, e.resume_time) for e in of(events, TradingPaused)] == [
        ("A", "circuit_breaker", now + HALT_1),
        ("B", "circuit_breaker", now + HALT_1),
    ]
    # The band pause's reopening is gone: A stays halted until the breaker's.
    assert h.advance_to(now + 1) == []
    assert h.advance_to(now + HALT_1 - 1) == []
    events = h.advance_to(now + HALT_1)
    assert of(events, TradingPhaseChanged) == [
        TradingPhaseChanged("A", PRE_OPEN),
        TradingPhaseChanged("B", PRE_OPEN),
    ]
    events = h.advance_to(now + HALT_1 + REOPEN)
    assert of(events, AuctionCompleted) == [AuctionCompleted("A", 8_000, 10)]


@pytest.mark.parametrize("enforce", [True, False])
def test_protection_does_not_depend_on_enforced_limits(enforce: bool) -> None:
    h = RiskHarness(instrument(band_bps=500), enforce=enforce, pause_ns=PAUSE)
    h.limits(allow_short_selling=True)
    h.fund("a", 10**9)
    h.place(SELL, 10, 10_600, account="b")
    events = h.run(NewOrder(h.tick(), "a", "X", BUY, OrderType.LIMIT, 10, 10_600))
    assert of(events, OrderAccepted)
    assert of(events, TradingPaused)


def test_a_manual_halt_outlives_the_circuit_breaker() -> None:
    """An instrument a person halted stays halted until a person lifts it,
    also when a breaker halt of the whole market comes and goes meanwhile.

    Fails today: ``Engine._check_breaker`` treats every HALTED book as "still
    halted by a lower level" and schedules it to reopen with the market, so B
    goes to PRE_OPEN and CONTINUOUS on its own.
    """
    h = _market()
    h.phase(HALTED, "B")  # news pending in B
    _print(h, "A", 7_200)  # A 28% down, B unchanged: the index 14% down, level 2
    now = h.clock
    assert h.engine.books["A"].resume_at == now + HALT_2
    h.advance_to(now + HALT_2 + REOPEN)
    assert _phases(h) == (CONTINUOUS, HALTED)
    assert h.engine.books["B"].resume_at == 0


def test_a_command_at_the_reopening_time_sees_the_breaker_first() -> None:
    """Time-driven work happens before the command that brings the time: a
    reopening auction that takes the index to the next level halts the market
    before that command is looked at, exactly as if an AdvanceTime had come
    first.

    Fails today: ``Engine.process`` runs ``_check_breaker`` only after the
    command's own handler, so an order arriving at the reopening time trades
    in continuous trading after the index has already fallen 13%.
    """
    results = []
    for advance_first in (True, False):
        h = _market()
        _print(h, "A", 8_600)
        halted_at = h.clock
        h.advance_to(halted_at + HALT_1)
        h.place(BUY, 10, 7_400, account="c", symbol="A")
        h.place(SELL, 10, 7_400, account="d", symbol="A")
        h.place(SELL, 10, 9_900, account="d", symbol="B")
        reopening = halted_at + HALT_1 + REOPEN
        if advance_first:
            h.advance_to(reopening)
        h.clock = reopening - 1
        events = h.order(BUY, 10, 9_900, account="x", symbol="B")
        results.append(
            (
                [e.reason for e in of(events, OrderRejected)],
                [(t.price, t.quantity) for t in of(events, Trade) if t.buy_account == "x"],
                _phases(h),
                h.engine.breakers_tripped,
            )
        )
    assert results[0] == ([RejectReason.TRADING_HALTED], [], (HALTED, HALTED), 2)
    assert results[1] == results[0]
