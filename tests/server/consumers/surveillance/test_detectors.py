"""Each surveillance detector on a crafted abuse that must raise its alert, and
on ordinary trading that must not; plus determinism and bounded state.

Scenarios drive a real matching engine and hand each command with its
events to the detectors as the sequencer would (``Sequenced``).
"""

from __future__ import annotations

import pytest

from matching import (
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    Command,
    Engine,
    Instrument,
    MassCancel,
    NewOrder,
    OrderAccepted,
    OrderType,
    ReplaceOrder,
    Side,
    TimeInForce,
    Trade,
)
from server.bench.workload import OrderFlow, instruments
from server.consumers.surveillance import (
    Alert,
    AlertKind,
    AlertSeverity,
    Surveillance,
    SurveillanceConfig,
)
from server.model.sequenced import Sequenced

SECOND = 1_000_000_000
MS = 1_000_000
START = 1_767_000_000 * SECOND
TICK = 100
PRICE = 1_900_000  # 190.00
BUY, SELL = Side.BUY, Side.SELL


def make_engine(*extra: Instrument) -> Engine:
    """The one place engines are built, should construction change."""
    return Engine([Instrument("AAPL", tick_size=TICK, reference_price=PRICE), *extra])


class Market:
    """An engine, its detectors, and a clock that moves only when told."""

    def __init__(
        self,
        config: SurveillanceConfig | None = None,
        owners: dict[str, str] | None = None,
    ) -> None:
        self.engine = make_engine()
        known = dict(owners or {})
        self.surveillance = Surveillance(
            config or SurveillanceConfig(), known.get, tick_size_of=lambda _: TICK
        )
        self.now = START
        self.sequence = 0
        self.alerts: list[Alert] = []
        self.log: list[Sequenced] = []

    def wait(self, nanoseconds: int) -> None:
        self.now += nanoseconds

    def run(self, command: Command) -> Sequenced:
        self.sequence += 1
        applied = Sequenced(self.sequence, command, self.engine.process(command))
        self.log.append(applied)
        self.alerts += self.surveillance.observe([applied])
        return applied

    def order(
        self,
        account: str,
        side: Side,
        quantity: int,
        price: int,
        *,
        symbol: str = "AAPL",
        time_in_force: TimeInForce = TimeInForce.DAY,
        display_quantity: int = 0,
    ) -> int:
        """Enter a limit order; its id."""
        self.wait(MS)
        command = NewOrder(
            self.now,
            account,
            symbol,
            side,
            OrderType.LIMIT,
            quantity,
            price,
            time_in_force,
            display_quantity=display_quantity,
        )
        for event in self.run(command).events:
            if isinstance(event, OrderAccepted):
                return event.order_id
        raise AssertionError(f"order refused: {command}")

    def trades(self, account: str, side: Side, quantity: int, price: int) -> list[Trade]:
        """An immediate-or-cancel order; the trades it made."""
        self.wait(MS)
        command = NewOrder(
            self.now, account, "AAPL", side, OrderType.LIMIT, quantity, price, TimeInForce.IOC
        )
        return [event for event in self.run(command).events if isinstance(event, Trade)]

    def cancel(self, account: str, order_id: int) -> None:
        self.wait(MS)
        self.run(CancelOrder(self.now, account, order_id))

    def tick(self) -> None:
        """A command with no events: lets windows close at the current time."""
        self.run(AdvanceTime(self.now))

    def of(self, kind: AlertKind) -> list[Alert]:
        return [alert for alert in self.alerts if alert.kind is kind]


def quote(market: Market, account: str = "MM", levels: int = 1, size: int = 300) -> list[int]:
    """A market maker's two-sided quote around 190.00: bids from 189.90 down,
    asks from 190.10 up, ``levels`` prices each side."""
    ids = []
    for level in range(levels):
        ids.append(market.order(account, BUY, size, PRICE - TICK * (1 + level)))
        ids.append(market.order(account, SELL, size, PRICE + TICK * (1 + level)))
    return ids


def warm_up(market: Market, orders: int = 30) -> None:
    """Ordinary flow, so the symbol has a typical order size (a few hundred)."""
    for number in range(orders):
        side = BUY if number % 2 else SELL
        price = PRICE - TICK * 3 if side is BUY else PRICE + TICK * 3
        order_id = market.order(f"BG{number % 5}", side, 100 * (1 + number % 5), price)
        market.cancel(f"BG{number % 5}", order_id)


# -- spoofing ------------------------------------------------------------------


def test_large_orders_at_the_touch_cancelled_unfilled_again_and_again_are_spoofing() -> None:
    market = Market()
    warm_up(market)
    quote(market)
    entered = []
    for _ in range(3):
        market.wait(2 * SECOND)
        order_id = market.order("SPOOF", BUY, 5_000, PRICE - TICK)  # joins the best bid
        entered.append((order_id, market.now))
        market.wait(400 * MS)
        market.cancel("SPOOF", order_id)
    (alert,) = market.of(AlertKind.SPOOFING)
    assert (alert.account, alert.symbol, alert.severity) == ("SPOOF", "AAPL", AlertSeverity.HIGH)
    assert alert.order_ids == tuple(order_id for order_id, _ in entered)
    assert alert.trade_ids == ()
    assert (alert.start_time, alert.end_time) == (entered[0][1], market.now)
    assert alert.create_time == market.now
    measured = dict(alert.details)
    assert measured["count"] == "3"
    assert measured["quantities"] == "5000,5000,5000"
    assert measured["median_lifetime_ms"] == "401"
    assert measured["max_ticks_from_touch"] == "0"
    assert measured["sides"] == "BUY"
    assert "3 large AAPL orders" in alert.description
    assert "median lifetime 0.401 s" in alert.description
    assert dict(alert.details) == dict(sorted(alert.details))  # sorted pairs


def test_the_absolute_size_rule_needs_no_history() -> None:
    market = Market()
    quote(market)
    for _ in range(3):
        order_id = market.order("SPOOF", SELL, 60_000, PRICE + 2 * TICK)  # one tick behind
        market.wait(SECOND)
        market.cancel("SPOOF", order_id)
    (alert,) = market.of(AlertKind.SPOOFING)
    assert dict(alert.details)["typical_order_size"] == "unknown"
    assert dict(alert.details)["max_ticks_from_touch"] == "1"


def test_ticks_are_counted_in_each_symbols_own_tick_size() -> None:
    market = Market()
    # Taught by the command that lists it: a tick of 0.0001, so 0.0150 behind
    # the best bid is 150 ticks away, not "near the touch".
    market.run(AddInstrument(market.now, Instrument("FINE", tick_size=1, reference_price=PRICE)))
    market.order("MM", BUY, 100, PRICE, symbol="FINE")
    for _ in range(3):
        order_id = market.order("SPOOF", BUY, 60_000, PRICE - 150, symbol="FINE")
        market.cancel("SPOOF", order_id)
    assert market.of(AlertKind.SPOOFING) == []


def test_ordinary_quoting_and_honest_large_orders_are_not_spoofing() -> None:
    market = Market()
    warm_up(market)
    # A market maker requotes its normal size at the touch many times a second.
    for _ in range(20):
        ids = quote(market)
        market.wait(100 * MS)
        for order_id in ids:
            market.cancel("MM", order_id)
    quote(market)
    # A large order far from the touch, cancelled quickly, three times.
    for _ in range(3):
        order_id = market.order("DEEP", BUY, 5_000, PRICE - 10 * TICK)
        market.cancel("DEEP", order_id)
    # A large order improving the touch that trades a little before it is cancelled.
    for _ in range(3):
        order_id = market.order("INST", SELL, 5_000, PRICE)
        assert market.trades("TAKER", BUY, 100, PRICE)[0].sell_order_id == order_id
        market.cancel("INST", order_id)
    # Large orders cancelled only after they rested for a while.
    for _ in range(3):
        order_id = market.order("PATIENT", BUY, 5_000, PRICE - TICK)
        market.wait(30 * SECOND)
        market.cancel("PATIENT", order_id)
    # An iceberg shows 200 of its 5,000 shares: nothing large is displayed.
    for _ in range(3):
        order_id = market.order("ICE", BUY, 5_000, PRICE - TICK, display_quantity=200)
        market.cancel("ICE", order_id)
    # Two quick cancels are not yet a pattern, and the window forgets them.
    for _ in range(2):
        order_id = market.order("TWICE", BUY, 5_000, PRICE - TICK)
        market.cancel("TWICE", order_id)
    market.wait(61 * SECOND)
    order_id = market.order("TWICE", BUY, 5_000, PRICE - TICK)
    market.cancel("TWICE", order_id)
    assert market.of(AlertKind.SPOOFING) == []


# -- layering ------------------------------------------------------------------


def test_layers_on_one_side_a_trade_on_the_other_then_the_layers_vanish() -> None:
    market = Market()
    quote(market, size=1_000)
    layers = [market.order("LAYER", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(4)]
    market.wait(SECOND)
    (trade,) = market.trades("LAYER", SELL, 500, PRICE - TICK)  # hits MM's bid at 189.90
    market.wait(SECOND)
    market.wait(MS)
    market.run(MassCancel(market.now, "LAYER", "AAPL"))
    (alert,) = market.of(AlertKind.LAYERING)
    assert (alert.account, alert.symbol, alert.severity) == ("LAYER", "AAPL", AlertSeverity.HIGH)
    assert alert.trade_ids == (trade.trade_id,)
    assert set(layers) < set(alert.order_ids)
    assert trade.sell_order_id in alert.order_ids
    measured = dict(alert.details)
    assert measured["levels"] == "4"
    assert measured["layer_side"] == "BUY"
    assert measured["layered_quantity"] == "8000"
    assert measured["traded_quantity"] == "500"
    assert measured["cancel_after_ms"] == "1001"
    assert alert.end_time == alert.create_time == market.now
    assert alert.start_time < alert.end_time
    assert "sold 500 shares" in alert.description


def test_layers_cancelled_one_by_one_count_until_enough_prices_are_gone() -> None:
    market = Market()
    quote(market, size=1_000)
    layers = [market.order("LAYER", SELL, 2_000, PRICE + TICK * (2 + n)) for n in range(3)]
    market.trades("LAYER", BUY, 300, PRICE + TICK)
    market.cancel("LAYER", layers[0])
    market.cancel("LAYER", layers[1])
    assert market.of(AlertKind.LAYERING) == []
    market.cancel("LAYER", layers[2])
    (alert,) = market.of(AlertKind.LAYERING)
    assert dict(alert.details)["layer_side"] == "SELL"


def test_a_market_maker_requoting_its_ladder_after_a_fill_is_not_layering() -> None:
    market = Market()
    for _ in range(10):
        ids = quote(market, "MM", levels=3)  # three prices each side, balanced
        market.wait(SECOND)
        market.trades("TAKER", BUY, 300, PRICE + TICK)  # lifts the best ask
        market.wait(200 * MS)
        for order_id in ids:
            market.cancel("MM", order_id)  # cancels the whole ladder, bids included
    # Layers cancelled too late after the trade are not layering either.
    layers = [market.order("SLOW", BUY, 2_000, PRICE - TICK * (2 + n)) for n in range(3)]
    quote(market, "MM2")
    market.trades("SLOW", SELL, 100, PRICE - TICK)
    market.wait(11 * SECOND)
    for order_id in layers:
        market.cancel("SLOW", order_id)
    assert market.of(AlertKind.LAYERING) == []


# -- wash trades ---------------------------------------------------------------


def test_trades_between_accounts_of_one_owner_are_wash_trades() -> None:
    market = Market(owners={"W1": "u-7", "W2": "u-7", "OTHER": "u-8"})
    first = market.order("W1", SELL, 100, PRICE)
    second = market.order("W1", SELL, 200, PRICE + TICK)
    trades = market.trades("W2", BUY, 300, PRICE + TICK)  # sweeps both in one command
    (alert,) = market.of(AlertKind.WASH_TRADE)
    assert (alert.account, alert.symbol, alert.severity) == ("W2", "AAPL", AlertSeverity.HIGH)
    assert alert.trade_ids == tuple(trade.trade_id for trade in trades)
    assert set(alert.order_ids) == {first, second, trades[0].buy_order_id}
    assert dict(alert.details) == {
        "buy_account": "W2",
        "sell_account": "W1",
        "owner": "u-7",
        "quantity": "300",
        "trades": "2",
    }
    assert "both owned by user u-7" in alert.description
    assert "190.0000-190.0100" in alert.description


def test_an_account_trading_with_itself_is_a_wash_trade() -> None:
    market = Market()
    market.order("SELF", SELL, 100, PRICE)
    (trade,) = market.trades("SELF", BUY, 100, PRICE)
    (alert,) = market.of(AlertKind.WASH_TRADE)
    assert (alert.account, alert.severity) == ("SELF", AlertSeverity.MEDIUM)
    assert alert.trade_ids == (trade.trade_id,)
    assert alert.order_ids == (trade.buy_order_id, trade.sell_order_id)


def test_trades_between_different_or_unknown_owners_are_not_wash_trades() -> None:
    market = Market(owners={"A": "u-1", "B": "u-2"})
    for buyer, seller in (("A", "B"), ("B", "A"), ("X", "Y"), ("A", "Y")):
        market.order(seller, SELL, 100, PRICE)
        assert market.trades(buyer, BUY, 100, PRICE)
    assert market.of(AlertKind.WASH_TRADE) == []


# -- order-to-trade ratio ------------------------------------------------------


def churn(market: Market, account: str, orders: int, every: int = 100 * MS) -> None:
    for _ in range(orders):
        market.wait(every)
        order_id = market.order(account, BUY, 100, PRICE - 5 * TICK)
        market.cancel(account, order_id)


def test_many_orders_and_no_trades_in_a_window_is_an_excessive_ratio() -> None:
    market = Market()
    start = market.now + 200 * MS + MS
    churn(market, "CHURN", 150, every=200 * MS)  # 150 orders in 30 s
    assert market.of(AlertKind.ORDER_TO_TRADE_RATIO) == []  # the window is still open
    market.wait(40 * SECOND)
    market.tick()
    (alert,) = market.of(AlertKind.ORDER_TO_TRADE_RATIO)
    assert (alert.account, alert.symbol) == ("CHURN", "AAPL")
    assert alert.severity is AlertSeverity.MEDIUM
    assert alert.start_time == start
    assert alert.end_time == start + 60 * SECOND
    assert alert.create_time == market.now
    assert len(alert.order_ids) == 100  # evidence is capped
    measured = dict(alert.details)
    assert (measured["orders"], measured["trades"], measured["ratio"]) == ("150", "0", "150")
    assert "150 orders per trade" in alert.description


def test_at_most_one_ratio_alert_per_account_and_window() -> None:
    market = Market()
    churn(market, "CHURN", 800, every=100 * MS)  # an order every 102 ms for 81.6 s
    market.wait(60 * SECOND)
    market.tick()
    alerts = market.of(AlertKind.ORDER_TO_TRADE_RATIO)
    # 589 orders fall in the first 60 s (588 x 102 ms < 60 s), the rest in the next window.
    assert [dict(alert.details)["orders"] for alert in alerts] == ["589", "211"]
    assert alerts[0].end_time <= alerts[1].start_time
    assert alerts[0].severity is AlertSeverity.HIGH  # 589 per trade: over 4 times the threshold


def test_orders_that_trade_or_are_few_are_not_an_excessive_ratio() -> None:
    market = Market()
    quote(market, "LP", size=10_000)
    for number in range(150):  # 150 orders, 10 trades: 15 per trade
        market.wait(100 * MS)
        if number % 15 == 0:
            assert market.trades("ACTIVE", BUY, 100, PRICE + TICK)
        else:
            market.cancel("ACTIVE", market.order("ACTIVE", BUY, 100, PRICE - 5 * TICK))
    churn(market, "QUIET", 40)  # no trade at all, but too few orders to judge
    market.wait(120 * SECOND)
    market.tick()
    assert market.of(AlertKind.ORDER_TO_TRADE_RATIO) == []


# -- abnormal price moves ------------------------------------------------------


def print_at(market: Market, price: int) -> Trade:
    market.order("MAKER", SELL, 100, price)
    (trade,) = market.trades("TAKER", BUY, 100, price)
    return trade


def test_a_price_far_from_where_it_was_a_window_ago_is_abnormal() -> None:
    market = Market()
    first = print_at(market, PRICE)
    first_time = market.now
    moves = []
    for step in range(1, 11):  # +1.00 every 10 s: 200.00 is +5.26%
        market.wait(10 * SECOND)
        moves.append(print_at(market, PRICE + 10_000 * step))
    (alert,) = market.of(AlertKind.ABNORMAL_PRICE_MOVE)
    assert (alert.account, alert.symbol) == ("", "AAPL")
    assert alert.severity is AlertSeverity.MEDIUM
    assert alert.trade_ids == (first.trade_id, moves[-1].trade_id)
    assert alert.order_ids == (moves[-1].buy_order_id, moves[-1].sell_order_id)
    assert (alert.start_time, alert.end_time) == (first_time, market.now)
    measured = dict(alert.details)
    assert (measured["reference_price"], measured["price"]) == ("190.0000", "200.0000")
    assert measured["move_bps"] == "526"
    assert "+5.26% from 190.0000" in alert.description
    # One alert per symbol per window: further moves stay quiet for five minutes.
    market.wait(SECOND)
    print_at(market, PRICE + 150_000)
    assert len(market.of(AlertKind.ABNORMAL_PRICE_MOVE)) == 1
    market.wait(300 * SECOND)
    print_at(market, PRICE + 300_000)  # +5.9% from 201.00 five minutes earlier
    assert len(market.of(AlertKind.ABNORMAL_PRICE_MOVE)) == 2


def test_a_fall_after_a_quiet_spell_is_measured_from_the_last_price() -> None:
    market = Market()
    print_at(market, PRICE)
    market.wait(3_600 * SECOND)
    market.order("BID", BUY, 100, PRICE - 2_000 * TICK)
    market.trades("SELLER", SELL, 100, PRICE - 2_000 * TICK)  # 170.00: -10.52%
    (alert,) = market.of(AlertKind.ABNORMAL_PRICE_MOVE)
    assert dict(alert.details)["move_bps"] == "-1052"
    assert alert.severity is AlertSeverity.HIGH  # over twice the threshold


def test_a_steady_drift_is_not_an_abnormal_move() -> None:
    market = Market()
    price = PRICE
    for _ in range(70):  # +0.1% every 30 s: +7% in 35 minutes, +1% in any 5
        market.wait(30 * SECOND)
        print_at(market, price)
        price += PRICE // 1000
    assert market.of(AlertKind.ABNORMAL_PRICE_MOVE) == []


# -- the whole -----------------------------------------------------------------


def busy_market(commands: int, seed: int) -> list[Sequenced]:
    """A realistic random flow (the benchmark's), one command per millisecond."""
    engine = Engine(instruments())
    flow = OrderFlow(engine, seed)
    applied = []
    for sequence in range(1, commands + 1):
        command = flow.next_command()._replace(timestamp=START + sequence * MS)
        events = engine.process(command)
        flow.observe(events)
        applied.append(Sequenced(sequence, command, events))
    return applied


def test_the_same_batches_give_the_same_alerts_however_they_are_grouped() -> None:
    config = SurveillanceConfig(
        ratio_window_ns=SECOND, ratio_min_orders=10, ratio_threshold=3, spoof_min_quantity=900
    )
    owners = {f"ACC{number:03d}": f"u{number % 7}" for number in range(50)}
    flow = busy_market(6_000, seed=3)
    one_by_one = Surveillance(config, owners.get)
    first = [alert for item in flow for alert in one_by_one.observe([item])]
    grouped = Surveillance(config, owners.get)
    second = [
        alert
        for start in range(0, len(flow), 64)
        for alert in grouped.observe(flow[start : start + 64])
    ]
    assert first == second
    assert {alert.kind for alert in first} >= {AlertKind.WASH_TRADE, AlertKind.ORDER_TO_TRADE_RATIO}


def test_state_falls_back_to_nothing_once_activity_stops() -> None:
    surveillance = Surveillance(SurveillanceConfig(), lambda account: None)
    flow = busy_market(5_000, seed=5)
    surveillance.observe(flow)
    assert surveillance.tracked() > 1_000
    later = flow[-1].command.timestamp + 600 * SECOND
    surveillance.observe([Sequenced(len(flow) + 1, AdvanceTime(later), [])])
    assert surveillance.tracked() == 0


def test_disabled_detectors_raise_nothing() -> None:
    market = Market(config=SurveillanceConfig(enabled=frozenset({AlertKind.LAYERING})))
    market.order("SELF", SELL, 100, PRICE)
    market.trades("SELF", BUY, 100, PRICE)
    assert market.alerts == []


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="spoof_min_count"):
        SurveillanceConfig(spoof_min_count=0)
    with pytest.raises(ValueError, match="ratio_threshold"):
        SurveillanceConfig(ratio_threshold=-1)
    with pytest.raises(ValueError, match="MANUAL"):
        SurveillanceConfig(enabled=frozenset({AlertKind.MANUAL}))


def test_replaces_count_as_orders_and_take_an_order_out_of_spoofing() -> None:
    market = Market()
    quote(market)
    for _ in range(3):
        order_id = market.order("MOVER", BUY, 60_000, PRICE - TICK)
        market.wait(MS)
        market.run(ReplaceOrder(market.now, "MOVER", order_id, PRICE - 2 * TICK, 60_000))
        market.cancel("MOVER", order_id)
    assert market.of(AlertKind.SPOOFING) == []
    alerts = Surveillance(
        SurveillanceConfig(ratio_min_orders=6, ratio_threshold=6), lambda account: None
    ).observe([*market.log, Sequenced(0, AdvanceTime(market.now + 61 * SECOND), [])])
    (ratio,) = [alert for alert in alerts if alert.account == "MOVER"]
    assert dict(ratio.details)["orders"] == "6"
