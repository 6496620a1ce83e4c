"""Cancel, replace and mass cancel."""

from matching import (
    CancelReason,
    CancelRejected,
    Instrument,
    MassCancel,
    OrderCancelled,
    OrderReplaced,
    OrderType,
    RejectReason,
    Trade,
)
from tests.matching.harness import BUY, SELL, Harness, of


def test_cancel_removes_the_order() -> None:
    h = Harness()
    order = h.place(BUY, 100, 10_000)
    (cancelled,) = of(h.cancel(order), OrderCancelled)
    assert (cancelled.cancelled_quantity, cancelled.reason) == (100, CancelReason.USER_REQUESTED)
    assert h.book()["BUY"] == []


def test_nobody_cancels_another_accounts_order() -> None:
    h = Harness()
    order = h.place(BUY, 100, 10_000)
    before = h.book()
    (rejected,) = of(h.cancel(order, account="intruder"), CancelRejected)
    assert rejected.reason is RejectReason.UNKNOWN_ORDER
    assert of(h.cancel(999), CancelRejected)[0].reason is RejectReason.UNKNOWN_ORDER
    assert of(h.replace(order, 9_000, 100, account="intruder"), CancelRejected)
    assert h.book() == before


def test_quantity_down_keeps_priority() -> None:
    h = Harness()
    first = h.place(SELL, 300, 10_000)
    second = h.place(SELL, 100, 10_000)
    (replaced,) = of(h.replace(first, 10_000, 200), OrderReplaced)
    assert replaced.priority_kept
    assert h.book()["SELL"] == [(10_000, [(first, 200, 200), (second, 100, 100)])]


def test_quantity_up_or_new_price_loses_priority() -> None:
    h = Harness()
    first = h.place(SELL, 100, 10_000)
    second = h.place(SELL, 100, 10_000)
    (replaced,) = of(h.replace(first, 10_000, 200), OrderReplaced)
    assert not replaced.priority_kept
    assert h.book()["SELL"] == [(10_000, [(second, 100, 100), (first, 200, 200)])]
    h.replace(second, 10_100, 100)
    h.replace(second, 10_000, 100)
    assert h.book()["SELL"] == [(10_000, [(first, 200, 200), (second, 100, 100)])]


def test_replace_to_a_crossing_price_trades_as_aggressor() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000, account="m")
    bid = h.place(BUY, 100, 9_900)
    (trade,) = of(h.replace(bid, 10_000, 100), Trade)
    assert (trade.buy_order_id, trade.aggressor_side, trade.price) == (bid, BUY, 10_000)


def test_replace_quantity_counts_what_was_filled() -> None:
    h = Harness()
    ask = h.place(SELL, 300, 10_000)
    h.order(BUY, 100, 10_000, account="b")
    low = h.replace(ask, 10_000, 100)
    assert of(low, CancelRejected)[0].reason is RejectReason.REPLACE_QUANTITY_TOO_LOW
    (replaced,) = of(h.replace(ask, 10_000, 150), OrderReplaced)
    assert (replaced.quantity, replaced.leaves_quantity) == (150, 50)


def test_post_only_replace_that_would_trade_is_refused() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000, account="m")
    bid = h.place(BUY, 100, 9_900, post_only=True)
    refused = h.replace(bid, 10_000, 100)
    assert of(refused, CancelRejected)[0].reason is RejectReason.POST_ONLY_WOULD_TRADE


def test_mass_cancel_takes_every_open_order_of_the_account_only() -> None:
    h = Harness(Instrument("X", 100), Instrument("Y", 100))
    mine = [h.place(BUY, 100, 9_000 + i * 100) for i in range(3)]
    mine.append(h.place(BUY, 100, 9_000, symbol="Y"))
    stop = h.place(BUY, 100, order_type=OrderType.STOP, stop=20_000)
    other = h.place(BUY, 100, 9_000, account="b")
    events = h.run(MassCancel(h.tick(), "a"))
    cancelled = {event.order_id for event in of(events, OrderCancelled)}
    assert cancelled == {*mine, stop}
    assert {event.reason for event in of(events, OrderCancelled)} == {CancelReason.MASS_CANCEL}
    assert h.engine.orders.ids() == [other]


def test_mass_cancel_of_one_symbol() -> None:
    h = Harness(Instrument("X", 100), Instrument("Y", 100))
    x = h.place(BUY, 100, 9_000)
    y = h.place(BUY, 100, 9_000, symbol="Y")
    events = h.run(MassCancel(h.tick(), "a", "X"))
    assert [event.order_id for event in of(events, OrderCancelled)] == [x]
    assert h.engine.orders.ids() == [y]
