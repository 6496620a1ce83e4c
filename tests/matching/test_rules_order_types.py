"""Market, stop, stop-limit, iceberg and post-only orders."""

from matching import (
    CancelReason,
    LevelChanged,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderType,
    RejectReason,
    StopTriggered,
    Trade,
)
from tests.matching.harness import BUY, SELL, Harness, of


def test_market_order_sweeps_and_cancels_the_rest() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    h.place(SELL, 100, 10_500)
    events = h.order(BUY, 300, account="b")
    assert [trade.price for trade in of(events, Trade)] == [10_000, 10_500]
    (cancelled,) = of(events, OrderCancelled)
    assert (cancelled.cancelled_quantity, cancelled.reason) == (
        100,
        CancelReason.IMMEDIATE_OR_CANCEL,
    )
    assert h.book()["SELL"] == []


def test_market_order_into_an_empty_book_is_cancelled() -> None:
    h = Harness()
    events = h.order(SELL, 100)
    assert of(events, OrderCancelled)[0].cancelled_quantity == 100
    assert len(h.engine.orders) == 0


def test_stop_waits_then_fires_as_a_market_order() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000, account="m")
    h.place(SELL, 500, 10_200, account="m")
    stop = h.place(BUY, 200, order_type=OrderType.STOP, stop=10_000)
    assert stop in h.engine.stops
    events = h.order(BUY, 100, 10_000, account="b")
    (triggered,) = of(events, StopTriggered)
    assert (triggered.order_id, triggered.trigger_price) == (stop, 10_000)
    fills = [fill for fill in of(events, OrderFilled) if fill.order_id == stop]
    assert [(fill.price, fill.quantity) for fill in fills] == [(10_200, 200)]
    assert stop not in h.engine.stops


def test_stop_limit_rests_at_its_limit_after_firing() -> None:
    h = Harness()
    h.place(BUY, 100, 10_000, account="m")
    stop = h.place(
        SELL,
        300,
        9_900,
        order_type=OrderType.STOP_LIMIT,
        stop=10_000,
    )
    h.order(SELL, 100, 10_000, account="b")
    assert h.book()["SELL"] == [(9_900, [(stop, 300, 300)])]


def test_stops_cascade_oldest_first() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000, account="m")
    h.place(SELL, 100, 10_100, account="m")
    h.place(SELL, 100, 10_200, account="m")
    first = h.place(BUY, 100, order_type=OrderType.STOP, stop=10_000)
    second = h.place(BUY, 100, order_type=OrderType.STOP, stop=10_100)
    events = h.order(BUY, 100, 10_000, account="b")
    assert [event.order_id for event in of(events, StopTriggered)] == [first, second]
    assert h.engine.books["X"].last_trade_price == 10_200


def test_stop_that_would_fire_at_once_is_refused() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    h.order(BUY, 100, 10_000, account="b")
    events = h.order(BUY, 100, order_type=OrderType.STOP, stop=10_000)
    assert of(events, OrderRejected)[0].reason is RejectReason.INVALID_STOP_PRICE


def test_waiting_stop_can_be_cancelled_and_replaced() -> None:
    h = Harness()
    stop = h.place(
        BUY,
        100,
        10_500,
        order_type=OrderType.STOP_LIMIT,
        stop=10_400,
    )
    (replaced,) = of(h.replace(stop, 10_600, 200, stop=10_500), OrderReplaced)
    assert (replaced.price, replaced.quantity, replaced.stop_price) == (10_600, 200, 10_500)
    assert of(h.cancel(stop), OrderCancelled)[0].cancelled_quantity == 200
    assert h.engine.stops == {}


def test_iceberg_shows_only_its_display_quantity() -> None:
    h = Harness()
    events = h.order(SELL, 1_000, 10_000, display=100)
    (level,) = of(events, LevelChanged)
    assert level.quantity == 100


def test_iceberg_refill_goes_behind_later_orders() -> None:
    h = Harness()
    iceberg = h.place(SELL, 300, 10_000, display=100)
    later = h.place(SELL, 100, 10_000, account="c")
    trades = of(h.order(BUY, 150, 10_000, account="b"), Trade)
    assert [(trade.sell_order_id, trade.quantity) for trade in trades] == [
        (iceberg, 100),
        (later, 50),
    ]
    assert h.book()["SELL"] == [(10_000, [(later, 50, 50), (iceberg, 200, 100)])]


def test_hidden_quantity_trades_in_the_same_sweep() -> None:
    h = Harness()
    iceberg = h.place(SELL, 500, 10_000, display=100)
    trades = of(h.order(BUY, 350, 10_000, account="b"), Trade)
    assert sum(trade.quantity for trade in trades) == 350
    assert {trade.sell_order_id for trade in trades} == {iceberg}
    # The fourth slice is half taken: 50 of it still shows, 100 stay hidden.
    assert h.book()["SELL"] == [(10_000, [(iceberg, 150, 50)])]


def test_post_only_rests_or_is_refused_when_it_would_trade() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    refused = h.order(BUY, 100, 10_000, post_only=True, account="b")
    assert of(refused, OrderRejected)[0].reason is RejectReason.POST_ONLY_WOULD_TRADE
    resting = h.place(BUY, 100, 9_900, post_only=True, account="b")
    assert h.book()["BUY"] == [(9_900, [(resting, 100, 100)])]
