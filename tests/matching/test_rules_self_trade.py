"""Self-trade prevention, decided by the incoming order's instruction."""

from matching import (
    OrderCancelled,
    OrderReduced,
    SelfTradePrevention,
    TimeInForce,
    Trade,
)
from tests.matching.harness import BUY, SELL, Harness, of

STP = SelfTradePrevention


def _setup() -> tuple[Harness, int, int]:
    h = Harness()
    own = h.place(SELL, 100, 10_000, account="a")
    other = h.place(SELL, 100, 10_000, account="b")
    return h, own, other


def test_no_prevention_lets_the_account_trade_with_itself() -> None:
    h, own, _ = _setup()
    trades = of(h.order(BUY, 100, 10_000, account="a"), Trade)
    assert [(trade.sell_order_id, trade.buy_account) for trade in trades] == [(own, "a")]


def test_cancel_resting_removes_own_order_and_trades_on() -> None:
    h, own, other = _setup()
    events = h.order(BUY, 100, 10_000, account="a", stp=STP.CANCEL_RESTING)
    assert [event.order_id for event in of(events, OrderCancelled)] == [own]
    assert [trade.sell_order_id for trade in of(events, Trade)] == [other]


def test_cancel_incoming_stops_the_incoming_order() -> None:
    h, own, _ = _setup()
    events = h.order(BUY, 100, 10_000, account="a", stp=STP.CANCEL_INCOMING)
    assert of(events, Trade) == []
    (cancelled,) = of(events, OrderCancelled)
    assert cancelled.order_id != own
    assert own in h.engine.orders
    assert h.book()["BUY"] == []


def test_cancel_both() -> None:
    h, _, other = _setup()
    events = h.order(BUY, 100, 10_000, account="a", stp=STP.CANCEL_BOTH)
    assert of(events, Trade) == []
    assert len(of(events, OrderCancelled)) == 2
    assert h.engine.orders.ids() == [other]


def test_decrement_reduces_both_without_a_trade() -> None:
    h = Harness()
    own = h.place(SELL, 300, 10_000, account="a")
    events = h.order(BUY, 100, 10_000, account="a", stp=STP.DECREMENT)
    assert of(events, Trade) == []
    (reduced,) = of(events, OrderReduced)
    assert (reduced.order_id, reduced.reduced_by, reduced.leaves_quantity) == (own, 100, 200)
    (cancelled,) = of(events, OrderCancelled)
    assert cancelled.cancelled_quantity == 100
    assert h.book()["SELL"] == [(10_000, [(own, 200, 200)])]


def test_decrement_then_trade_with_others() -> None:
    h = Harness()
    own = h.place(SELL, 100, 10_000, account="a")
    other = h.place(SELL, 100, 10_000, account="b")
    events = h.order(BUY, 150, 10_000, account="a", stp=STP.DECREMENT)
    assert [event.order_id for event in of(events, OrderCancelled)] == [own]
    (trade,) = of(events, Trade)
    assert (trade.sell_order_id, trade.quantity) == (other, 50)


def test_fok_counts_only_what_can_really_trade() -> None:
    h, _, _ = _setup()
    blocked = h.order(BUY, 200, 10_000, account="a", tif=TimeInForce.FOK, stp=STP.CANCEL_INCOMING)
    assert of(blocked, Trade) == []
    h2, _, other = _setup()
    passes = h2.order(BUY, 100, 10_000, account="a", tif=TimeInForce.FOK, stp=STP.CANCEL_RESTING)
    assert [trade.sell_order_id for trade in of(passes, Trade)] == [other]


def test_fok_is_blocked_by_own_order_behind_an_iceberg_refill() -> None:
    """Found by hypothesis: the iceberg's next slice goes behind the own order,
    so only its first slice can trade before self-trade prevention stops the
    FOK; it must not trade at all."""
    h = Harness()
    iceberg = h.place(BUY, 4, 9_600, display=3, account="a")
    h.place(BUY, 1, 9_600, account="b")
    events = h.order(SELL, 4, 9_500, account="b", tif=TimeInForce.FOK, stp=STP.CANCEL_INCOMING)
    assert of(events, Trade) == []
    assert h.book()["BUY"][0][1][0] == (iceberg, 4, 3)
