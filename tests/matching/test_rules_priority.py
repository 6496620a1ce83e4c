"""Price-time priority, trade prices, and the events of a match."""

from matching import (
    LevelChanged,
    OrderAccepted,
    OrderFilled,
    TopOfBookChanged,
    Trade,
)
from tests.matching.harness import BUY, SELL, Harness, kinds, of


def test_better_price_first_then_earlier_order() -> None:
    h = Harness()
    late_good = h.place(SELL, 100, 10_100)
    early = h.place(SELL, 100, 10_200)
    later = h.place(SELL, 100, 10_200)
    best = h.place(SELL, 100, 10_000)
    trades = of(h.order(BUY, 400, 10_200, account="b"), Trade)
    assert [trade.sell_order_id for trade in trades] == [best, late_good, early, later]
    assert [trade.price for trade in trades] == [10_000, 10_100, 10_200, 10_200]


def test_trade_prints_at_the_resting_price_with_the_aggressor_side() -> None:
    h = Harness()
    bid = h.place(BUY, 100, 10_000)
    events = h.order(SELL, 100, 9_000, account="b")
    (trade,) = of(events, Trade)
    assert trade.price == 10_000
    assert trade.aggressor_side is SELL
    assert (trade.buy_order_id, trade.buy_account, trade.sell_account) == (bid, "a", "b")


def test_a_fill_reports_both_sides_levels_and_top_of_book() -> None:
    h = Harness()
    ask = h.place(SELL, 300, 10_000)
    events = h.order(BUY, 100, 10_000, account="b")
    assert kinds(events) == [
        "OrderAccepted",
        "Trade",
        "OrderFilled",
        "OrderFilled",
        "LevelChanged",
        "TopOfBookChanged",
    ]
    maker, taker = of(events, OrderFilled)
    assert (maker.order_id, maker.leaves_quantity, maker.cum_quantity) == (ask, 200, 100)
    assert (taker.leaves_quantity, taker.cum_quantity, taker.is_complete) == (0, 100, True)
    assert maker.trade_id == taker.trade_id == of(events, Trade)[0].trade_id
    (level,) = of(events, LevelChanged)
    assert (level.side, level.price, level.quantity, level.order_count) == (SELL, 10_000, 200, 1)
    (top,) = of(events, TopOfBookChanged)
    assert (top.bid_price, top.ask_price, top.ask_quantity) == (0, 10_000, 200)


def test_trade_ids_increase_across_trades() -> None:
    h = Harness()
    for _ in range(3):
        h.place(SELL, 100, 10_000)
    trades = of(h.order(BUY, 300, 10_000, account="b"), Trade)
    assert [trade.trade_id for trade in trades] == [1, 2, 3]


def test_a_partly_filled_aggressor_rests_at_its_limit() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    events = h.order(BUY, 250, 10_100, account="b")
    (accepted,) = of(events, OrderAccepted)
    assert h.book()["BUY"] == [(10_100, [(accepted.order_id, 150, 150)])]
    assert h.book()["SELL"] == []


def test_top_of_book_is_reported_only_when_it_changes() -> None:
    h = Harness()
    assert of(h.order(BUY, 100, 10_000), TopOfBookChanged)
    assert not of(h.order(BUY, 100, 9_900), TopOfBookChanged)
    (top,) = of(h.order(BUY, 100, 10_000), TopOfBookChanged)
    assert (top.bid_price, top.bid_quantity) == (10_000, 200)


def test_sweep_reports_each_level_once() -> None:
    h = Harness()
    for price in (10_000, 10_000, 10_100):
        h.place(SELL, 100, price)
    levels = of(h.order(BUY, 300, 10_100, account="b"), LevelChanged)
    assert [(level.price, level.quantity) for level in levels] == [(10_000, 0), (10_100, 0)]
