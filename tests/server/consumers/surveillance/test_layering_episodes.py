"""Which orders are an episode's layers, at the edges the layering detector's
index must get right: it no longer copies the layers at each trade, but
tells them by arrival and pins those that leave their stack or move.

Each case is also what the detector did when it copied them (the rule is
unchanged: the layers are the orders open on the other side at one of the
episode's trades, each counted at the price it had then).
"""

from __future__ import annotations

from matching import ReplaceOrder
from server.consumers.surveillance import AlertKind
from tests.server.consumers.surveillance.test_detectors import (
    BUY,
    MS,
    PRICE,
    SECOND,
    SELL,
    TICK,
    Market,
    quote,
)


def test_orders_entered_between_two_trades_join_the_episode_at_the_second() -> None:
    market = Market()
    quote(market, size=1_000)
    first = [market.order("LAYER", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(3)]
    market.trades("LAYER", SELL, 100, PRICE - TICK)
    later = market.order("LAYER", BUY, 500, PRICE - TICK * 9)
    market.trades("LAYER", SELL, 100, PRICE - TICK)
    for order_id in [*first[:2], later]:
        market.cancel("LAYER", order_id)
    (alert,) = market.of(AlertKind.LAYERING)
    measured = dict(alert.details)
    assert measured["layered_orders"] == "4"
    assert measured["layered_quantity"] == "6500"
    assert measured["trades"] == "2"
    assert measured["levels"] == "3"  # the later order's price is the third


def test_an_order_entered_after_the_last_trade_is_no_layer() -> None:
    market = Market()
    quote(market, size=1_000)
    layers = [market.order("LAYER", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(3)]
    market.trades("LAYER", SELL, 100, PRICE - TICK)
    after = market.order("LAYER", BUY, 2_000, PRICE - TICK * 9)
    for order_id in [*layers[:2], after]:
        market.cancel("LAYER", order_id)
    assert market.of(AlertKind.LAYERING) == []
    market.cancel("LAYER", layers[2])
    (alert,) = market.of(AlertKind.LAYERING)
    assert dict(alert.details)["layered_orders"] == "3"
    assert after not in alert.order_ids


def test_a_layer_moved_after_the_trade_counts_at_the_price_it_had_then() -> None:
    market = Market()
    quote(market, size=1_000)
    layers = [market.order("LAYER", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(3)]
    market.trades("LAYER", SELL, 100, PRICE - TICK)
    market.wait(MS)
    market.run(ReplaceOrder(market.now, "LAYER", layers[2], PRICE - TICK * 3, 2_000))
    for order_id in layers:
        market.cancel("LAYER", order_id)
    (alert,) = market.of(AlertKind.LAYERING)
    assert dict(alert.details)["levels"] == "3"  # not 2: the move came after


def test_a_layer_older_than_the_order_window_still_counts_when_cancelled() -> None:
    market = Market()
    quote(market, size=1_000)
    layers = [market.order("LAYER", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(3)]
    market.wait(25 * SECOND)
    market.trades("LAYER", SELL, 100, PRICE - TICK)
    market.wait(6 * SECOND)  # the layers are no longer tracked as recent orders
    for order_id in layers:
        market.cancel("LAYER", order_id)
    (alert,) = market.of(AlertKind.LAYERING)
    assert set(layers) < set(alert.order_ids)


def test_a_layer_filled_meanwhile_is_counted_but_cannot_be_cancelled() -> None:
    market = Market()
    quote(market, size=1_000)
    layers = [market.order("LAYER", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(4)]
    market.trades("LAYER", SELL, 100, PRICE - TICK)
    market.trades("HIT", SELL, 3_000, PRICE - TICK * 2)  # MM's bid, then the first layer
    for order_id in layers[1:3]:
        market.cancel("LAYER", order_id)
    assert market.of(AlertKind.LAYERING) == []
    market.cancel("LAYER", layers[3])
    (alert,) = market.of(AlertKind.LAYERING)
    assert dict(alert.details)["layered_orders"] == "4"
    assert layers[0] not in alert.order_ids
