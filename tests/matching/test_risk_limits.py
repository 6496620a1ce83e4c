"""Pre-trade controls (issue 8, section 1), each at its boundary.

Exactly at a limit is accepted; one share, one tick, one unit of money or one
message over is refused with the control's own reason code and a text that
names the limit and the value. The same controls hold on ReplaceOrder
(CancelRejected), accounts without limits of their own follow the defaults,
and with ``enforce_limits`` False only the kill switch refuses anything.
"""

import pytest

from matching import (
    CancelRejected,
    CommandRejected,
    ConfigureControls,
    Instrument,
    OrderAccepted,
    OrderCancelled,
    OrderReplaced,
    OrderType,
    RejectReason,
    RiskLimits,
    RiskLimitsChanged,
    SelfTradePrevention,
    SetRiskLimits,
    Side,
    TimeInForce,
    Trade,
)
from tests.matching.harness import BUY, SELL, of
from tests.matching.risk_harness import (
    SECOND,
    RiskHarness,
    cancel_rejected,
    command_rejected,
    rejected,
)

RICH = 10**12
"""Cash enough never to be the limit that refuses."""


def _harness(**limits: object) -> RiskHarness:
    """Limits enforced, ``limits`` as the defaults, accounts a and b rich."""
    h = RiskHarness()
    h.limits(**limits)
    h.fund("a", RICH)
    h.fund("b", RICH)
    return h


def test_reason_codes_are_those_of_the_contract() -> None:
    assert list(range(40, 49)) == [
        RejectReason.RISK_MAX_ORDER_QUANTITY,
        RejectReason.RISK_MAX_ORDER_NOTIONAL,
        RejectReason.RISK_PRICE_COLLAR,
        RejectReason.RISK_BUYING_POWER,
        RejectReason.RISK_INSUFFICIENT_POSITION,
        RejectReason.RISK_POSITION_LIMIT,
        RejectReason.RISK_MAX_OPEN_ORDERS,
        RejectReason.RISK_MESSAGE_RATE,
        RejectReason.KILL_SWITCH_ACTIVE,
    ]


# -- maximum order quantity ----------------------------------------------------


@pytest.mark.parametrize("side", [BUY, SELL])
def test_max_order_quantity_at_the_limit_and_one_share_over(side: Side) -> None:
    h = _harness(max_order_quantity=100, allow_short_selling=True)
    price = 9_000 if side is BUY else 11_000
    h.place(side, 100, price)
    refusal = rejected(h.order(side, 101, price))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_QUANTITY
    assert (refusal.symbol, refusal.account, refusal.order_id) == ("X", "a", 0)
    assert refusal.text == "quantity 101 exceeds max_order_quantity 100"


# -- maximum order notional ----------------------------------------------------


def test_max_order_notional_at_the_limit_and_one_unit_of_money_over() -> None:
    h = _harness(max_order_notional=1_000_000)  # 100.0000
    h.place(BUY, 1, 1_000_000)
    refusal = rejected(h.order(BUY, 1, 1_000_001))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_NOTIONAL
    assert refusal.text == "notional 100.0001 exceeds max_order_notional 100.0000"
    # One share over at the same price.
    h.place(BUY, 100, 10_000)
    refusal = rejected(h.order(BUY, 101, 10_000))
    assert refusal.text == "notional 101.0000 exceeds max_order_notional 100.0000"


def test_max_order_notional_applies_to_sells() -> None:
    h = _harness(max_order_notional=1_000_000, allow_short_selling=True)
    h.place(SELL, 100, 10_000)
    refusal = rejected(h.order(SELL, 100, 10_001))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_NOTIONAL
    assert refusal.text == "notional 100.0100 exceeds max_order_notional 100.0000"


def test_market_orders_are_valued_at_the_reference_price() -> None:
    h = _harness(max_order_notional=1_000_000, allow_short_selling=True)
    # No trade yet: the instrument's reference price, 10_000.
    assert of(h.order(BUY, 100), OrderAccepted)
    refusal = rejected(h.order(BUY, 101))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_NOTIONAL
    assert refusal.text == "notional 101.0000 exceeds max_order_notional 100.0000"
    # After a trade at 10_100 the last trade is the reference.
    h.place(SELL, 10, 10_100, account="b")
    assert of(h.order(BUY, 10, 10_100), Trade)
    assert of(h.order(BUY, 99), OrderAccepted)  # 99 * 10_100 = 999_900
    refusal = rejected(h.order(BUY, 100))
    assert refusal.text == "notional 101.0000 exceeds max_order_notional 100.0000"


def test_stops_are_valued_at_their_stop_price_stop_limits_at_their_limit() -> None:
    h = _harness(max_order_notional=1_000_000)
    h.place(BUY, 100, order_type=OrderType.STOP, stop=10_000)
    refusal = rejected(h.order(BUY, 100, order_type=OrderType.STOP, stop=10_001))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_NOTIONAL
    assert refusal.text == "notional 100.0100 exceeds max_order_notional 100.0000"
    h.place(BUY, 100, 10_000, order_type=OrderType.STOP_LIMIT, stop=10_500)
    refusal = rejected(h.order(BUY, 100, 10_001, order_type=OrderType.STOP_LIMIT, stop=10_500))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_NOTIONAL


# -- price collar --------------------------------------------------------------


def test_price_collar_around_the_instrument_reference_price() -> None:
    h = _harness(price_collar_bps=500, allow_short_selling=True)  # 5% of 10_000 = 500
    for price in (9_500, 10_500):
        h.place(BUY, 1, price)
    for price in (9_499, 10_501):
        refusal = rejected(h.order(BUY, 1, price))
        assert refusal.reason is RejectReason.RISK_PRICE_COLLAR
    refusal = rejected(h.order(SELL, 1, 10_501))
    assert refusal.reason is RejectReason.RISK_PRICE_COLLAR
    assert refusal.text == ("price 1.0501 is more than 500 bps from the reference price 1.0000")
    refusal = rejected(h.order(SELL, 1, 9_499))
    assert refusal.text == ("price 0.9499 is more than 500 bps from the reference price 1.0000")


def test_price_collar_follows_the_last_trade() -> None:
    h = _harness(price_collar_bps=500, allow_short_selling=True)
    h.place(SELL, 10, 10_200, account="b")
    assert of(h.order(BUY, 10, 10_200), Trade)
    # 5% of 10_200 = 510: 10_710 is in, 10_711 out, and 10_501 is now fine.
    h.place(BUY, 1, 10_501)
    h.place(SELL, 1, 10_710, account="b")
    refusal = rejected(h.order(SELL, 1, 10_711, account="b"))
    assert refusal.reason is RejectReason.RISK_PRICE_COLLAR
    assert refusal.text == ("price 1.0711 is more than 500 bps from the reference price 1.0200")
    h.place(BUY, 1, 9_690)
    assert rejected(h.order(BUY, 1, 9_689)).reason is RejectReason.RISK_PRICE_COLLAR


@pytest.mark.parametrize("stp", list(SelfTradePrevention)[1:], ids=lambda mode: mode.name)
def test_price_collar_reference_ignores_a_cross_that_did_not_trade(
    stp: SelfTradePrevention,
) -> None:
    """Self-trade prevention stops a cross without a trade: the reference
    price (last trade, else the previous close) must not move.

    Fails today: ``matcher.match`` sets ``book.last_trade_price`` to the price
    of the last level it visited even when self-trade prevention took the
    orders away and nothing traded; the collar (and the valuation of market
    orders, and the circuit-breaker index) then use a price never printed.
    """
    h = _harness(price_collar_bps=500, allow_short_selling=True)
    h.place(BUY, 10, 9_600)
    events = h.order(SELL, 10, 9_600, stp=stp)
    assert not of(events, Trade)
    assert h.engine.books["X"].last_trade_price == 0
    # 10_500 is 5% above the previous close 10_000 (but 9.4% above 9_600).
    assert of(h.order(BUY, 1, 10_500, account="b"), OrderAccepted)


def test_price_collar_checks_stop_limit_prices_not_market_orders() -> None:
    h = _harness(price_collar_bps=100)
    refusal = rejected(h.order(BUY, 1, 10_101, order_type=OrderType.STOP_LIMIT, stop=10_050))
    assert refusal.reason is RejectReason.RISK_PRICE_COLLAR
    h.place(BUY, 1, 10_100, order_type=OrderType.STOP_LIMIT, stop=10_050)
    h.place(BUY, 1, order_type=OrderType.STOP, stop=20_000)  # no limit price to collar
    assert of(h.order(BUY, 1), OrderAccepted)  # market


# -- buying power --------------------------------------------------------------


def test_buying_power_exactly_enough_then_one_unit_short() -> None:
    h = RiskHarness()
    h.fund("a", 1_000_000)
    h.fund("b", 999_999)
    h.place(BUY, 100, 10_000)
    assert h.ledger("a").buying_power == 0
    refusal = rejected(h.order(BUY, 1, 1))
    assert refusal.reason is RejectReason.RISK_BUYING_POWER
    assert refusal.text == "order costs 0.0001, buying power is 0.0000"
    refusal = rejected(h.order(BUY, 100, 10_000, account="b"))
    assert refusal.reason is RejectReason.RISK_BUYING_POWER
    assert refusal.text == "order costs 100.0000, buying power is 99.9999"
    h.place(BUY, 99, 10_000, account="b")
    assert h.ledger("b").buying_power == 9_999


def test_buying_power_counts_stops_and_market_orders() -> None:
    h = RiskHarness()
    h.fund("a", 2_050_000)
    # A stop buy reserves at its protection price, 5% over the stop price.
    h.place(BUY, 100, order_type=OrderType.STOP, stop=10_000)
    assert h.ledger("a").reserved == 1_050_000
    # A market buy reserves 5% over the reference price 10_000: 96 shares cost
    # 1_008_000, one share more than the 1_000_000 left can pay for.
    refusal = rejected(h.order(BUY, 96))
    assert refusal.text == "order costs 100.8000, buying power is 100.0000"
    assert of(h.order(BUY, 95), OrderAccepted)


def test_market_buy_without_any_reference_price_is_refused() -> None:
    h = RiskHarness(Instrument("N", 1))
    h.fund("a", RICH)
    refusal = rejected(h.order(BUY, 1, symbol="N"))
    assert refusal.reason is RejectReason.RISK_BUYING_POWER
    assert refusal.text == "no reference price for N to value a market order at"


def test_sells_need_no_cash() -> None:
    h = RiskHarness()
    h.limits(allow_short_selling=True)
    h.place(SELL, 100, 10_000)  # account a has no cash at all
    assert h.ledger("a").cash == 0


# -- position: selling what one has, position limit ----------------------------


def _long(h: RiskHarness, account: str, quantity: int, price: int = 10_000) -> None:
    """``account`` buys ``quantity`` from ``m`` (who may sell short)."""
    h.place(SELL, quantity, price, account="m")
    assert of(h.order(BUY, quantity, price, account=account), Trade)


def test_selling_needs_a_position_without_short_selling() -> None:
    h = _harness()
    h.run(SetRiskLimits(h.tick(), "m", RiskLimits(allow_short_selling=True)))
    _long(h, "a", 100)
    refusal = rejected(h.order(SELL, 101, 10_100))
    assert refusal.reason is RejectReason.RISK_INSUFFICIENT_POSITION
    assert refusal.text == (
        "selling 101 needs a position: 100 X free to sell, short selling not allowed"
    )
    h.place(SELL, 60, 10_100)
    forty = h.place(SELL, 40, 10_200)
    refusal = rejected(h.order(SELL, 1, 10_300))
    assert refusal.text == (
        "selling 1 needs a position: 0 X free to sell, short selling not allowed"
    )
    refusal = rejected(h.order(SELL, 1, 10_300, account="b"))
    assert refusal.reason is RejectReason.RISK_INSUFFICIENT_POSITION
    # A cancel frees the position again; sell stops promise it too.
    h.cancel(forty)
    assert h.holding("a").open_sell == 60
    h.place(SELL, 40, order_type=OrderType.STOP, stop=9_000)
    refusal = rejected(h.order(SELL, 1, order_type=OrderType.STOP, stop=9_000))
    assert refusal.reason is RejectReason.RISK_INSUFFICIENT_POSITION


@pytest.mark.parametrize("side", [BUY, SELL])
def test_position_limit_counts_open_orders_as_if_filled(side: Side) -> None:
    h = _harness(max_position_quantity=100, allow_short_selling=True)
    price = 9_000 if side is BUY else 11_000
    h.place(side, 60, price)
    h.place(side, 40, price + 1)
    refusal = rejected(h.order(side, 1, price))
    assert refusal.reason is RejectReason.RISK_POSITION_LIMIT
    assert refusal.text == "position of 101 with open orders would exceed max_position_quantity 100"


def test_position_limit_counts_the_position_held() -> None:
    h = _harness(max_position_quantity=100, allow_short_selling=True)
    h.run(SetRiskLimits(h.tick(), "m", RiskLimits(allow_short_selling=True)))
    _long(h, "a", 70)
    h.place(BUY, 30, 9_000)
    refusal = rejected(h.order(BUY, 1, 9_000))
    assert refusal.reason is RejectReason.RISK_POSITION_LIMIT
    # Selling brings the position down: long 70, selling 100 more leaves short 30.
    h.place(SELL, 170, 11_000)
    refusal = rejected(h.order(SELL, 1, 11_000))
    assert refusal.text == "position of 101 with open orders would exceed max_position_quantity 100"


def _long_over_a_lowered_limit() -> RiskHarness:
    """Account ``a`` long 100 after its position limit was lowered to 50."""
    h = _harness(allow_short_selling=True)
    h.run(SetRiskLimits(h.tick(), "m", RiskLimits(allow_short_selling=True)))
    _long(h, "a", 100)
    h.limits(max_position_quantity=50, allow_short_selling=True)
    return h


def test_an_account_over_a_lowered_position_limit_can_still_reduce() -> None:
    h = _long_over_a_lowered_limit()
    # Long 100 over a limit of 50: buying more is refused, selling is not.
    assert rejected(h.order(BUY, 1, 9_000)).reason is RejectReason.RISK_POSITION_LIMIT
    h.place(SELL, 30, 11_000)
    h.place(SELL, 70, 11_001)  # worst case flat
    # Through flat to short 50 is at the limit; short 51 is over it.
    h.place(SELL, 50, 11_002)
    refusal = rejected(h.order(SELL, 1, 11_002))
    assert refusal.text == "position of 51 with open orders would exceed max_position_quantity 50"


def test_a_sell_that_turns_round_past_the_limit_is_refused() -> None:
    h = _long_over_a_lowered_limit()
    # Long 100 to short 51: reduces, then goes past the limit the other way.
    refusal = rejected(h.order(SELL, 151, 11_000))
    assert refusal.text == "position of 51 with open orders would exceed max_position_quantity 50"
    assert of(h.order(SELL, 150, 11_000), OrderAccepted)  # to short 50: at the limit


# -- open orders, message rate -------------------------------------------------


def test_max_open_orders_counts_resting_orders_and_stops() -> None:
    h = _harness(max_open_orders=3)
    first = h.place(BUY, 1, 9_000)
    h.place(BUY, 1, 9_001)
    h.place(BUY, 1, order_type=OrderType.STOP, stop=11_000)
    refusal = rejected(h.order(BUY, 1, 9_002))
    assert refusal.reason is RejectReason.RISK_MAX_OPEN_ORDERS
    assert refusal.text == "3 open orders already: max_open_orders is 3"
    h.cancel(first)
    h.place(BUY, 1, 9_002)
    # An IOC that does not rest needs a free slot too, but frees it at once.
    assert rejected(h.order(BUY, 1, 9_000, tif=TimeInForce.IOC)).reason is (
        RejectReason.RISK_MAX_OPEN_ORDERS
    )
    assert h.place(BUY, 5, 9_000, account="b")


def test_message_rate_per_second_of_command_time() -> None:
    h = _harness(max_messages_per_second=3)
    h.clock = 7 * SECOND
    first = h.place(BUY, 1, 9_000)  # 1
    h.cancel(first)  # 2: cancels count
    second = h.place(BUY, 1, 9_000)  # 3
    refusal = rejected(h.order(BUY, 1, 9_000))  # 4
    assert refusal.reason is RejectReason.RISK_MESSAGE_RATE
    assert refusal.text == "4 order messages this second: max_messages_per_second is 3"
    replace_refusal = cancel_rejected(h.replace(second, 9_001, 1))  # 5
    assert replace_refusal.reason is RejectReason.RISK_MESSAGE_RATE
    assert replace_refusal.text == "5 order messages this second: max_messages_per_second is 3"
    # Cancels lower risk: never refused.
    assert of(h.cancel(second), OrderCancelled)[0].order_id == second
    # Other accounts have their own count.
    assert h.place(BUY, 1, 9_000, account="b")
    # The next second starts again.
    h.clock = 8 * SECOND - 2
    assert rejected(h.order(BUY, 1, 9_000)).reason is RejectReason.RISK_MESSAGE_RATE
    h.clock = 8 * SECOND
    assert h.place(BUY, 1, 9_000)


# -- kill switch ---------------------------------------------------------------


def test_kill_switch_refuses_with_its_reason() -> None:
    h = _harness()
    h.kill("a", reason="fat finger on desk 4")
    refusal = rejected(h.order(BUY, 1, 9_000))
    assert refusal.reason is RejectReason.KILL_SWITCH_ACTIVE
    assert refusal.text == "account a is blocked by a kill switch: fat finger on desk 4"
    assert h.place(BUY, 1, 9_000, account="b")


def test_controls_are_checked_in_a_fixed_order() -> None:
    """An order breaking every limit gets the first: rate, quantity, notional,
    collar, open orders, position, buying power."""
    h = RiskHarness()
    h.fund("a", RICH)
    h.place(BUY, 1, 9_000)
    h.limits(
        max_messages_per_second=1,
        max_order_quantity=1,
        max_order_notional=1,
        price_collar_bps=0,
        max_open_orders=1,
        max_position_quantity=1,
    )
    reasons = []
    for field in (
        "max_messages_per_second",
        "max_order_quantity",
        "max_order_notional",
        "price_collar_bps",
        "max_open_orders",
        "max_position_quantity",
    ):
        reasons.append(rejected(h.order(BUY, 2, 20_000)).reason)
        h.limits(**{**h.engine.risk.default_limits._asdict(), field: None})
    assert reasons == [47, 40, 41, 42, 46, 45]
    h.fund("a", -h.ledger("a").buying_power)
    assert rejected(h.order(BUY, 2, 20_000)).reason is RejectReason.RISK_BUYING_POWER


# -- the same controls on ReplaceOrder -----------------------------------------


def test_replace_max_order_quantity() -> None:
    h = _harness(max_order_quantity=100)
    order = h.place(BUY, 50, 9_000)
    assert of(h.replace(order, 9_000, 100), OrderReplaced)
    refusal = cancel_rejected(h.replace(order, 9_000, 101))
    assert refusal == CancelRejected(
        order,
        "a",
        RejectReason.RISK_MAX_ORDER_QUANTITY,
        "quantity 101 exceeds max_order_quantity 100",
    )
    assert h.engine.orders[order].remaining == 100


def test_replace_max_order_notional_of_a_buy() -> None:
    h = _harness(max_order_notional=1_000_000)
    order = h.place(BUY, 50, 10_000)
    assert of(h.replace(order, 10_000, 100), OrderReplaced)
    refusal = cancel_rejected(h.replace(order, 10_001, 100))
    assert refusal.reason is RejectReason.RISK_MAX_ORDER_NOTIONAL
    assert refusal.text == "notional 100.0100 exceeds max_order_notional 100.0000"


def test_replace_max_order_notional_of_a_sell() -> None:
    """A sell is held to the notional limit when replaced, as when entered.

    Regression (fixed in 87b08d1): ``Engine._replace`` passed the sell's ledger
    mark (-1) as the value per share, so the notional checked was ``-quantity``.
    """
    h = _harness(max_order_notional=1_000_000, allow_short_selling=True)
    order = h.place(SELL, 50, 10_000)
    assert rejected(h.order(SELL, 100, 10_001)).reason is RejectReason.RISK_MAX_ORDER_NOTIONAL
    assert of(h.replace(order, 10_000, 100), OrderReplaced)
    events = h.replace(order, 10_001, 100)
    assert events == [
        CancelRejected(
            order,
            "a",
            RejectReason.RISK_MAX_ORDER_NOTIONAL,
            "notional 100.0100 exceeds max_order_notional 100.0000",
        )
    ]


def test_replace_price_collar() -> None:
    h = _harness(price_collar_bps=500)
    order = h.place(BUY, 10, 10_000)
    assert of(h.replace(order, 10_500, 10), OrderReplaced)
    refusal = cancel_rejected(h.replace(order, 10_501, 10))
    assert refusal.reason is RejectReason.RISK_PRICE_COLLAR
    assert refusal.text == "price 1.0501 is more than 500 bps from the reference price 1.0000"


def test_replace_buying_power() -> None:
    h = RiskHarness()
    h.fund("a", 1_000_000)
    order = h.place(BUY, 50, 10_000)
    assert of(h.replace(order, 10_000, 100), OrderReplaced)
    assert h.ledger("a").buying_power == 0
    refusal = cancel_rejected(h.replace(order, 10_001, 100))
    assert refusal.reason is RejectReason.RISK_BUYING_POWER
    assert refusal.text == "replace needs 0.0100 more, buying power is 0.0000"
    # Lowering the price frees cash.
    assert of(h.replace(order, 9_999, 100), OrderReplaced)
    assert h.ledger("a").buying_power == 100


def test_replace_of_a_stop_buy_reserves_its_new_protection_price() -> None:
    h = RiskHarness()
    h.fund("a", 1_050_000)
    stop = h.place(BUY, 100, order_type=OrderType.STOP, stop=9_000)
    assert h.ledger("a").reserved == 945_000
    assert of(h.replace(stop, 0, 100, stop=10_000), OrderReplaced)
    assert h.ledger("a").reserved == 1_050_000
    # 10_001 + 5% = 10_501.05, down to the tick: 10_501.
    refusal = cancel_rejected(h.replace(stop, 0, 100, stop=10_001))
    assert refusal.reason is RejectReason.RISK_BUYING_POWER
    assert refusal.text == "replace needs 0.0100 more, buying power is 0.0000"


def test_replace_insufficient_position() -> None:
    h = _harness()
    h.run(SetRiskLimits(h.tick(), "m", RiskLimits(allow_short_selling=True)))
    _long(h, "a", 100)
    order = h.place(SELL, 60, 10_100)
    assert of(h.replace(order, 10_100, 100), OrderReplaced)
    refusal = cancel_rejected(h.replace(order, 10_100, 101))
    assert refusal.reason is RejectReason.RISK_INSUFFICIENT_POSITION
    assert refusal.text == (
        "selling 1 more needs a position: 0 X free to sell, short selling not allowed"
    )


@pytest.mark.parametrize("side", [BUY, SELL])
def test_replace_position_limit(side: Side) -> None:
    h = _harness(max_position_quantity=100, allow_short_selling=True)
    price = 9_000 if side is BUY else 11_000
    order = h.place(side, 60, price)
    assert of(h.replace(order, price, 100), OrderReplaced)
    refusal = cancel_rejected(h.replace(order, price, 101))
    assert refusal.reason is RejectReason.RISK_POSITION_LIMIT
    assert refusal.text == "position of 101 with open orders would exceed max_position_quantity 100"


def test_replace_counts_against_the_message_rate() -> None:
    h = _harness(max_messages_per_second=2)
    order = h.place(BUY, 10, 9_000)
    assert of(h.replace(order, 9_001, 10), OrderReplaced)
    refusal = cancel_rejected(h.replace(order, 9_002, 10))
    assert refusal.reason is RejectReason.RISK_MESSAGE_RATE
    assert refusal.text == "3 order messages this second: max_messages_per_second is 2"


def test_replace_after_a_kill_finds_no_order() -> None:
    """The kill switch cancels every open order, so a replace names an order
    that is gone."""
    h = _harness()
    order = h.place(BUY, 10, 9_000)
    h.kill("a")
    refusal = cancel_rejected(h.replace(order, 9_001, 10))
    assert (refusal.order_id, refusal.reason) == (order, RejectReason.UNKNOWN_ORDER)


# -- defaults and per-account limits -------------------------------------------


def test_accounts_follow_the_defaults_unless_they_have_their_own() -> None:
    h = _harness()
    events = h.limits(max_order_quantity=100)
    assert events == [RiskLimitsChanged("", RiskLimits(max_order_quantity=100))]
    events = h.limits("a", max_order_quantity=200)
    assert events == [RiskLimitsChanged("a", RiskLimits(max_order_quantity=200))]
    h.place(BUY, 200, 9_000)
    assert rejected(h.order(BUY, 201, 9_000)).text == (
        "quantity 201 exceeds max_order_quantity 200"
    )
    assert rejected(h.order(BUY, 101, 9_000, account="b")).text == (
        "quantity 101 exceeds max_order_quantity 100"
    )
    # New defaults apply at once to every account without its own limits.
    h.limits(max_order_quantity=150)
    h.place(BUY, 150, 9_000, account="b")
    assert rejected(h.order(BUY, 201, 9_000)).reason is RejectReason.RISK_MAX_ORDER_QUANTITY
    # Dropping an account's own limits puts it back on the defaults.
    events = h.run(SetRiskLimits(h.tick(), "a", None))
    assert events == [RiskLimitsChanged("a", RiskLimits(max_order_quantity=150))]
    assert rejected(h.order(BUY, 151, 9_000)).text == (
        "quantity 151 exceeds max_order_quantity 150"
    )


def test_own_limits_replace_the_defaults_entirely() -> None:
    h = _harness(max_order_quantity=100)
    h.limits("a", max_open_orders=5)
    h.place(BUY, 1_000, 9_000)


def test_defaults_cannot_be_removed_and_bad_limits_are_refused() -> None:
    h = _harness(max_order_quantity=100)
    refusal = command_rejected(h.run(SetRiskLimits(h.tick(), "", None)))
    assert refusal == CommandRejected(
        "", RejectReason.INVALID_RISK_LIMITS, "the defaults cannot be removed, only replaced"
    )
    refusal = command_rejected(h.limits("a", max_order_quantity=-1))
    assert refusal.reason is RejectReason.INVALID_RISK_LIMITS
    assert refusal.text == "max_order_quantity must be a whole number >= 0, not -1"
    assert h.engine.risk.default_limits == RiskLimits(max_order_quantity=100)
    assert h.engine.risk.accounts["a"].limits is None


# -- enforcement off -----------------------------------------------------------


def test_without_enforcement_only_the_kill_switch_refuses() -> None:
    h = RiskHarness(enforce=False)
    h.limits(
        max_order_quantity=1,
        max_order_notional=1,
        price_collar_bps=0,
        max_position_quantity=0,
        max_open_orders=0,
        max_messages_per_second=0,
    )
    # No cash, no position, every limit broken.
    resting = h.place(BUY, 100, 9_000)
    h.place(SELL, 100, 20_000)
    h.place(BUY, 100, order_type=OrderType.STOP, stop=30_000)
    h.place(SELL, 100, order_type=OrderType.STOP, stop=5_000)
    assert of(h.order(BUY, 10), Trade)  # market, against a's own sell
    assert of(h.replace(resting, 9_500, 500), OrderReplaced)
    assert h.ledger("a").buying_power < 0
    h.kill("a")
    assert rejected(h.order(BUY, 1, 9_000)).reason is RejectReason.KILL_SWITCH_ACTIVE
    h.kill("a", active=False)
    h.place(BUY, 1, 9_000)
    h.run(ConfigureControls(h.tick(), True))
    assert rejected(h.order(BUY, 1, 9_000)).reason is RejectReason.RISK_MESSAGE_RATE
