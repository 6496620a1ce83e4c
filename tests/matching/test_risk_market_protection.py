"""Market order protection (issue 8, sections 1 and 3): a buy market order,
or a buy stop once it fires, trades no higher than its protection price,
``market_protection_bps`` over its value (the reference price; a stop's stop
price), which is also what its cash is reserved at. So no fill takes more
cash than the buying power check allowed; the rest is cancelled with
``CancelReason.MARKET_PROTECTION``. In a call auction such an order takes
part as a limit order at its protection price.

The harness's instrument ``X`` has tick 1 and reference price 10_000; the
default protection is 5%, so a market buy may pay up to 10_500.
"""

import pytest

from matching import (
    AuctionCompleted,
    CancelReason,
    ConfigureControls,
    Instrument,
    OrderCancelled,
    OrderType,
    RejectReason,
    TimeInForce,
    Trade,
    TradingPhase,
)
from tests.matching.harness import BUY, SELL, of
from tests.matching.risk_harness import RiskHarness, command_rejected, rejected


def _asks(h: RiskHarness, *prices: int, quantity: int = 10) -> None:
    for price in prices:
        h.place(SELL, quantity, price, account="m")


def _harness(**options: object) -> RiskHarness:
    h = RiskHarness(**options)  # type: ignore[arg-type]
    h.limits("m", allow_short_selling=True)
    return h


def test_a_market_buy_trades_up_to_its_protection_price_and_not_a_tick_over() -> None:
    h = _harness()
    h.fund("a", 30 * 10_500)
    _asks(h, 10_000, 10_500, 10_501)
    events = h.order(BUY, 30)
    assert [(t.price, t.quantity) for t in of(events, Trade)] == [(10_000, 10), (10_500, 10)]
    (left,) = of(events, OrderCancelled)
    assert (left.cancelled_quantity, left.reason) == (10, CancelReason.MARKET_PROTECTION)
    ledger = h.ledger("a")
    assert (ledger.cash, ledger.reserved) == (30 * 10_500 - 100_000 - 105_000, 0)
    assert h.book()["SELL"] == [(10_501, [(3, 10, 10)])]


def test_the_cash_reserved_at_the_protection_price_covers_every_fill() -> None:
    """What used to overdraw: the reference price would have valued 20 shares
    at 200_000, and the fills cost 205_000."""
    h = _harness()
    h.fund("a", 20 * 10_500)
    _asks(h, 10_000, 10_500)
    assert rejected(h.order(BUY, 21)).reason is RejectReason.RISK_BUYING_POWER
    events = h.order(BUY, 20)
    assert sum(t.price * t.quantity for t in of(events, Trade)) == 205_000
    assert h.ledger("a").cash == 5_000


def test_a_book_that_runs_dry_within_protection_cancels_as_before() -> None:
    h = _harness()
    h.fund("a", 10**9)
    _asks(h, 10_100)
    events = h.order(BUY, 30)
    (left,) = of(events, OrderCancelled)
    assert (left.cancelled_quantity, left.reason) == (20, CancelReason.IMMEDIATE_OR_CANCEL)


def test_protection_follows_the_last_trade() -> None:
    h = _harness()
    h.fund("a", 10**9)
    h.fund("b", 10**9)
    h.place(SELL, 1, 11_000, account="m")
    h.place(BUY, 1, 11_000, account="b")  # trades: the reference is now 11_000
    _asks(h, 11_550, 11_551)
    events = h.order(BUY, 20)
    assert [t.price for t in of(events, Trade)] == [11_550]
    assert of(events, OrderCancelled)[0].reason is CancelReason.MARKET_PROTECTION


def test_sells_are_not_limited() -> None:
    h = _harness()
    h.limits("a", allow_short_selling=True)
    h.fund("m", 10**9)
    for price in (10_000, 9_000, 8_000):
        h.place(BUY, 10, price, account="m")
    events = h.order(SELL, 30)
    assert [t.price for t in of(events, Trade)] == [10_000, 9_000, 8_000]


def test_a_fired_buy_stop_is_protected_over_its_stop_price() -> None:
    h = _harness()
    h.fund("a", 10**9)
    h.fund("b", 10**9)
    h.place(BUY, 20, order_type=OrderType.STOP, stop=10_100)
    assert h.ledger("a").reserved == 20 * 10_605  # 10_100 + 5%
    _asks(h, 10_100, 10_605, 10_606)
    events = h.order(BUY, 1, 10_100, account="b")  # prints 10_100: the stop fires
    mine = [t for t in of(events, Trade) if t.buy_account == "a"]
    assert [(t.price, t.quantity) for t in mine] == [(10_100, 9), (10_605, 10)]
    (left,) = [e for e in of(events, OrderCancelled) if e.account == "a"]
    assert (left.cancelled_quantity, left.reason) == (1, CancelReason.MARKET_PROTECTION)
    assert h.ledger("a").reserved == 0


def test_fill_or_kill_market_buy_counts_only_what_protection_lets_it_reach() -> None:
    h = _harness()
    h.fund("a", 10**9)
    _asks(h, 10_000, 10_600)
    events = h.order(BUY, 15, tif=TimeInForce.FOK)
    assert not of(events, Trade)
    assert of(events, OrderCancelled)[0].reason is CancelReason.FILL_OR_KILL
    assert of(h.order(BUY, 10, tif=TimeInForce.FOK), Trade)


def test_in_an_auction_a_market_buy_takes_part_at_its_protection_price() -> None:
    h = _harness()
    h.limits("b", allow_short_selling=True)
    h.fund("a", 10**9)
    h.fund("b", 10**9)
    h.phase(TradingPhase.PRE_OPEN)
    h.place(SELL, 10, 10_600, account="m")
    h.place(BUY, 10)  # market: protected at 10_500, below the only offer
    h.place(BUY, 5, 10_600, account="b")
    events = h.phase(TradingPhase.CONTINUOUS)
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 10_600, 5)]
    assert {t.buy_account for t in of(events, Trade)} == {"b"}
    (left,) = [e for e in of(events, OrderCancelled) if e.account == "a"]
    assert (left.cancelled_quantity, left.reason) == (10, CancelReason.AUCTION_UNEXECUTED)
    assert h.ledger("a").cash == 10**9


def test_in_an_auction_a_protected_market_buy_keeps_its_priority_within_protection() -> None:
    h = _harness()
    h.fund("a", 10**9)
    h.fund("b", 10**9)
    h.phase(TradingPhase.PRE_OPEN)
    h.place(SELL, 10, 10_400, account="m")
    h.place(BUY, 10, 10_500, account="b")
    h.place(BUY, 10)  # market, after b's limit order: still first to execute
    events = h.phase(TradingPhase.CONTINUOUS)
    assert of(events, AuctionCompleted)[0].quantity == 10
    assert {t.buy_account for t in of(events, Trade)} == {"a"}


def test_without_enforced_limits_market_orders_are_not_limited() -> None:
    h = _harness(enforce=False)
    _asks(h, 10_000, 20_000)
    events = h.order(BUY, 20)
    assert [t.price for t in of(events, Trade)] == [10_000, 20_000]


def test_zero_protection_lets_a_market_buy_pay_the_reference_price_at_most() -> None:
    h = _harness(market_protection_bps=0)
    h.fund("a", 10**9)
    _asks(h, 10_000, 10_001)
    events = h.order(BUY, 20)
    assert [t.price for t in of(events, Trade)] == [10_000]
    assert h.ledger("a").reserved == 0


def test_the_protection_price_is_rounded_down_to_the_tick() -> None:
    h = RiskHarness(Instrument("T", 5, reference_price=10_010))
    h.limits("m", allow_short_selling=True)
    h.fund("a", 10**9)
    # 10_010 + 5% = 10_510.5: down to the tick of 5 is 10_510.
    h.place(BUY, 1, order_type=OrderType.MARKET, symbol="T")
    assert h.ledger("a").reserved == 0  # nothing offered: cancelled at once
    h.place(SELL, 1, 10_510, account="m", symbol="T")
    h.place(SELL, 1, 10_515, account="m", symbol="T")
    events = h.order(BUY, 2, symbol="T")
    assert [t.price for t in of(events, Trade)] == [10_510]


@pytest.mark.parametrize("bps", [-1, 10_001])
def test_protection_outside_zero_to_one_hundred_percent_is_refused(bps: int) -> None:
    h = RiskHarness()
    refusal = command_rejected(h.run(ConfigureControls(h.tick(), True, market_protection_bps=bps)))
    assert refusal.reason is RejectReason.INVALID_RISK_LIMITS
    assert "market_protection_bps" in refusal.text
    # The controls in force are unchanged: a market buy still reserves 5% over.
    h.fund("a", 10**9)
    h.phase(TradingPhase.PRE_OPEN)
    h.place(BUY, 1)
    assert h.ledger("a").reserved == 10_500
