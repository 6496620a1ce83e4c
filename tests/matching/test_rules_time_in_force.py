"""DAY, GTC, IOC, FOK and GTD."""

from matching import (
    AdvanceTime,
    CancelReason,
    OrderCancelled,
    OrderExpired,
    SetTradingPhase,
    TimeInForce,
    Trade,
    TradingPhase,
)
from tests.matching.harness import BUY, SELL, Harness, of

DAY = TimeInForce.DAY
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
GTD = TimeInForce.GTD


def _close(h: Harness) -> list[object]:
    return list(h.run(SetTradingPhase(h.tick(), "X", TradingPhase.CLOSED)))


def test_day_orders_expire_at_the_close_and_gtc_orders_stay() -> None:
    h = Harness()
    day = h.place(BUY, 100, 9_900, tif=DAY)
    gtc = h.place(BUY, 100, 9_800, tif=GTC)
    events = _close(h)
    assert [event.order_id for event in events if isinstance(event, OrderExpired)] == [day]
    assert h.engine.orders.ids() == [gtc]


def test_ioc_never_rests() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    events = h.order(BUY, 300, 10_000, tif=IOC, account="b")
    assert sum(trade.quantity for trade in of(events, Trade)) == 100
    (cancelled,) = of(events, OrderCancelled)
    assert (cancelled.cancelled_quantity, cancelled.reason) == (
        200,
        CancelReason.IMMEDIATE_OR_CANCEL,
    )
    assert h.book()["BUY"] == []


def test_fok_that_cannot_fill_completely_does_nothing() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    h.place(SELL, 100, 10_100)
    before = h.engine.state_hash()
    events = h.order(BUY, 250, 10_100, tif=FOK, account="b")
    assert of(events, Trade) == []
    assert of(events, OrderCancelled)[0].reason is CancelReason.FILL_OR_KILL
    assert h.book()["SELL"] == [(10_000, [(1, 100, 100)]), (10_100, [(2, 100, 100)])]
    assert h.engine.state_hash() != before  # the order id was used


def test_fok_fills_completely_across_levels_and_icebergs() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000)
    h.place(SELL, 400, 10_100, display=100)
    events = h.order(BUY, 450, 10_100, tif=FOK, account="b")
    assert sum(trade.quantity for trade in of(events, Trade)) == 450
    assert of(events, OrderCancelled) == []


def test_gtd_expires_when_time_passes() -> None:
    h = Harness()
    expire = h.clock + 50
    order = h.place(BUY, 100, 9_900, tif=GTD, expire=expire)
    assert of(h.run(AdvanceTime(expire - 1)), OrderExpired) == []
    (expired,) = of(h.run(AdvanceTime(expire)), OrderExpired)
    assert (expired.order_id, expired.expired_quantity) == (order, 100)
    assert len(h.engine.orders) == 0


def test_gtd_expires_before_a_later_command_is_processed() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000, tif=GTD, expire=h.clock + 5)
    h.clock += 10
    events = h.order(BUY, 100, 10_000, account="b")
    assert of(events, OrderExpired)
    assert of(events, Trade) == []


def test_gtd_order_that_filled_leaves_nothing_to_expire() -> None:
    h = Harness()
    h.place(SELL, 100, 10_000, tif=GTD, expire=h.clock + 5)
    h.order(BUY, 100, 10_000, account="b")
    assert of(h.run(AdvanceTime(h.clock + 100)), OrderExpired) == []
