"""Every malformed order is refused with its own reason and changes nothing."""

from typing import Any

import pytest

from matching import (
    Instrument,
    NewOrder,
    OrderRejected,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from tests.matching.harness import Harness, of

R = RejectReason
LIMIT = OrderType.LIMIT
BASE: dict[str, Any] = {
    "account": "a",
    "symbol": "X",
    "side": Side.BUY,
    "order_type": LIMIT,
    "quantity": 100,
    "price": 10_000,
}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"symbol": "NOPE"}, R.UNKNOWN_SYMBOL),
        ({"quantity": 0}, R.INVALID_QUANTITY),
        ({"quantity": -100}, R.INVALID_QUANTITY),
        ({"quantity": 150}, R.QUANTITY_NOT_MULTIPLE_OF_LOT),
        ({"quantity": 100_100}, R.QUANTITY_TOO_LARGE),
        ({"price": 0}, R.INVALID_PRICE),
        ({"price": -100}, R.INVALID_PRICE),
        ({"price": 10_050}, R.PRICE_NOT_ON_TICK),
        ({"price": 11_100}, R.PRICE_OUTSIDE_BAND),
        ({"price": 8_900}, R.PRICE_OUTSIDE_BAND),
        ({"order_type": OrderType.MARKET}, R.INVALID_PRICE),
        ({"stop_price": 10_000}, R.INVALID_STOP_PRICE),
        ({"order_type": OrderType.STOP_LIMIT, "stop_price": 0}, R.INVALID_STOP_PRICE),
        ({"order_type": OrderType.STOP_LIMIT, "stop_price": 10_050}, R.INVALID_STOP_PRICE),
        ({"display_quantity": 150}, R.INVALID_DISPLAY_QUANTITY),
        ({"display_quantity": 200}, R.INVALID_DISPLAY_QUANTITY),
        ({"display_quantity": -100}, R.INVALID_DISPLAY_QUANTITY),
        ({"post_only": True, "time_in_force": TimeInForce.IOC}, R.INVALID_TIME_IN_FORCE),
        ({"post_only": True, "order_type": OrderType.MARKET, "price": 0}, R.INVALID_ORDER_TYPE),
        (
            {"order_type": OrderType.MARKET, "price": 0, "time_in_force": TimeInForce.GTC},
            R.INVALID_TIME_IN_FORCE,
        ),
        ({"time_in_force": TimeInForce.GTD}, R.INVALID_EXPIRE_TIME),
        ({"time_in_force": TimeInForce.GTD, "expire_time": 5}, R.INVALID_EXPIRE_TIME),
        ({"expire_time": 10**12}, R.INVALID_EXPIRE_TIME),
        ({"side": 1}, R.INVALID_SIDE),
        ({"order_type": 1}, R.INVALID_ORDER_TYPE),
        ({"time_in_force": 1}, R.INVALID_TIME_IN_FORCE),
        ({"self_trade_prevention": 1}, R.INVALID_SELF_TRADE_PREVENTION),
    ],
)
def test_bad_order_is_refused_with_its_reason(changes: dict[str, Any], reason: R) -> None:
    h = Harness(
        Instrument(
            "X",
            100,
            lot_size=100,
            max_order_quantity=100_000,
            price_band_bps=1_000,
            reference_price=10_000,
        )
    )
    before = h.book()
    order_id_before = h.engine.counters.order_id
    fields = {**BASE, **changes, "timestamp": h.tick()}
    events = h.run(NewOrder(**fields))
    assert [type(event) for event in events] == [OrderRejected]
    assert events[0].reason is reason  # type: ignore[union-attr]
    assert h.book() == before
    assert h.engine.counters.order_id == order_id_before


def test_band_edges_are_inclusive() -> None:
    h = Harness(Instrument("X", 100, price_band_bps=1_000, reference_price=10_000))
    assert h.place(Side.BUY, 100, 11_000)
    assert h.place(Side.BUY, 100, 9_000)
    assert of(h.order(Side.BUY, 100, 11_100), OrderRejected)


def test_band_follows_the_last_trade() -> None:
    h = Harness(Instrument("X", 100, price_band_bps=1_000, reference_price=10_000))
    h.place(Side.SELL, 100, 10_900)
    h.order(Side.BUY, 100, 10_900, account="b")
    assert h.place(Side.BUY, 100, 11_900)


def test_stp_enum_values_work() -> None:
    h = Harness()
    order = h.place(Side.BUY, 100, 10_000, stp=SelfTradePrevention.DECREMENT)
    assert order in h.engine.orders
