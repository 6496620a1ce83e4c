"""Account ledgers (issue 8, section 2): cash and positions on every fill,
the cash reserved by open buy orders and every way it is released, funding,
and average-cost profit and loss worked through by hand.

Money is in the contract's unit (1 = 0.0001); a fill moves ``price *
quantity`` of cash.
"""

import pytest

from matching import (
    AccountFunded,
    AuctionCompleted,
    CancelReason,
    CommandRejected,
    FundAccount,
    MassCancel,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    TimeInForce,
    Trade,
    TradingPhase,
)
from tests.matching.harness import BUY, SELL, of
from tests.matching.risk_harness import RiskHarness, command_rejected, instrument

DECREMENT = SelfTradePrevention.DECREMENT


def _harness() -> RiskHarness:
    """Limits enforced; everyone may sell short, so positions start anywhere."""
    h = RiskHarness()
    h.limits(allow_short_selling=True)
    return h


def _open(h: RiskHarness, account: str, symbol: str = "X") -> tuple[int, int, int, int]:
    """(reserved, open orders, open buy quantity, open sell quantity)."""
    ledger = h.ledger(account)
    holding = ledger.holdings[symbol]
    return ledger.reserved, ledger.open_orders, holding.open_buy, holding.open_sell


# -- cash and positions on fills -----------------------------------------------


def test_a_fill_moves_cash_and_position_on_both_sides() -> None:
    h = _harness()
    h.fund("a", 2_000_000)
    h.place(SELL, 100, 10_000, account="b")
    events = h.order(BUY, 60, 10_100)
    assert [(t.price, t.quantity) for t in of(events, Trade)] == [(10_000, 60)]
    a, b = h.ledger("a"), h.ledger("b")
    assert (a.cash, b.cash) == (1_400_000, 600_000)
    assert h.position("a") == (60, 600_000, 0)
    assert h.position("b") == (-60, -600_000, 0)
    # a's incoming buy reserved 10_100 a share and is done: nothing stays reserved.
    assert _open(h, "a") == (0, 0, 0, 0)
    assert _open(h, "b") == (0, 1, 0, 40)


def test_a_resting_buy_releases_its_reservation_as_it_fills() -> None:
    h = _harness()
    h.fund("a", 1_000_000)
    h.place(BUY, 100, 10_000)
    assert _open(h, "a") == (1_000_000, 1, 100, 0)
    assert h.ledger("a").buying_power == 0
    h.order(SELL, 30, 9_900, account="b")  # prints at the resting 10_000
    assert _open(h, "a") == (700_000, 1, 70, 0)
    assert h.ledger("a").cash == 700_000
    h.order(SELL, 70, 9_000, account="b")
    assert _open(h, "a") == (0, 0, 0, 0)
    assert (h.ledger("a").cash, h.ledger("b").cash) == (0, 1_000_000)


def test_an_incoming_buy_filled_below_its_limit_keeps_the_difference() -> None:
    h = _harness()
    h.fund("a", 1_050_000)
    h.place(SELL, 50, 10_000, account="b")
    h.place(SELL, 50, 10_400, account="b")
    h.order(BUY, 100, 10_500)  # reserves 1_050_000: all the cash
    assert h.ledger("a").cash == 1_050_000 - 500_000 - 520_000
    assert h.ledger("a").buying_power == 30_000
    assert _open(h, "a") == (0, 0, 0, 0)


# -- reservations released -----------------------------------------------------


def test_cancel_releases_the_reservation() -> None:
    h = _harness()
    h.fund("a", 1_000_000)
    order = h.place(BUY, 100, 10_000)
    stop = h.place(SELL, 100, order_type=OrderType.STOP, stop=9_000)
    assert _open(h, "a") == (1_000_000, 2, 100, 100)
    h.cancel(order)
    h.cancel(stop)
    assert _open(h, "a") == (0, 0, 0, 0)
    assert h.ledger("a").buying_power == 1_000_000


def test_expiry_releases_gtd_orders_and_day_orders_at_the_close() -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    expiry = h.clock + 1_000
    h.place(BUY, 100, 10_000, tif=TimeInForce.GTD, expire=expiry)
    h.place(BUY, 10, order_type=OrderType.STOP, stop=11_000, tif=TimeInForce.GTD, expire=expiry)
    h.place(BUY, 50, 9_000)  # DAY
    h.place(BUY, 20, 8_000, tif=TimeInForce.GTC)
    # The stop reserves at its protection price, 5% over its stop price.
    assert h.ledger("a").reserved == 1_000_000 + 115_500 + 450_000 + 160_000
    events = h.advance_to(expiry)
    assert len(of(events, OrderExpired)) == 2
    assert _open(h, "a") == (610_000, 2, 70, 0)
    events = h.phase(TradingPhase.CLOSED)
    assert [e.expired_quantity for e in of(events, OrderExpired)] == [50]
    assert _open(h, "a") == (160_000, 1, 20, 0)


def test_self_trade_decrement_releases_what_it_takes_off_both_orders() -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    resting = h.place(BUY, 100, 10_000)
    # The incoming sell is used up by the decrement: both shrink by 40.
    events = h.order(SELL, 40, 10_000, stp=DECREMENT)
    (reduced,) = of(events, OrderReduced)
    assert (reduced.order_id, reduced.reduced_by, reduced.leaves_quantity) == (resting, 40, 60)
    (cancelled,) = of(events, OrderCancelled)
    assert cancelled.reason is CancelReason.SELF_TRADE_PREVENTION
    assert _open(h, "a") == (600_000, 1, 60, 0)
    # The incoming buy outlives the resting sell it meets and rests with the rest.
    h.cancel(resting)
    h.place(SELL, 30, 10_000)
    events = h.order(BUY, 100, 10_000, stp=DECREMENT)
    (reduced,) = of(events, OrderReduced)
    assert (reduced.reduced_by, reduced.leaves_quantity) == (30, 70)
    assert not of(events, Trade)
    assert _open(h, "a") == (700_000, 1, 70, 0)
    assert h.ledger("a").cash == 10_000_000


@pytest.mark.parametrize(
    ("price", "quantity", "reserved", "priority_kept"),
    [
        (10_000, 60, 600_000, True),  # smaller at the same price
        (10_000, 150, 1_500_000, False),
        (9_000, 100, 900_000, False),
        (10_100, 80, 808_000, False),
    ],
)
def test_replace_moves_the_reservation(
    price: int, quantity: int, reserved: int, priority_kept: bool
) -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    order = h.place(BUY, 100, 10_000)
    (replaced,) = of(h.replace(order, price, quantity), OrderReplaced)
    assert replaced.priority_kept is priority_kept
    assert _open(h, "a") == (reserved, 1, quantity, 0)


def test_replace_of_a_partly_filled_order_reserves_what_is_left() -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    order = h.place(BUY, 100, 10_000)
    h.order(SELL, 40, 10_000, account="b")
    h.replace(order, 10_200, 80)  # 80 in all, 40 filled: 40 left at 10_200
    assert _open(h, "a") == (408_000, 1, 40, 0)
    assert h.ledger("a").cash == 10_000_000 - 400_000


def test_replace_that_trades_releases_at_its_new_price() -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    order = h.place(BUY, 100, 9_000)
    h.place(SELL, 30, 9_500, account="b")
    events = h.replace(order, 10_000, 100)
    assert [(t.price, t.quantity) for t in of(events, Trade)] == [(9_500, 30)]
    assert _open(h, "a") == (700_000, 1, 70, 0)
    assert h.ledger("a").cash == 10_000_000 - 285_000


def test_ioc_fok_and_unexecuted_market_orders_release_everything() -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    h.place(SELL, 10, 10_000, account="b")
    h.order(BUY, 50, 10_000, tif=TimeInForce.IOC)
    assert _open(h, "a") == (0, 0, 0, 0)
    events = h.order(BUY, 50, 10_000, tif=TimeInForce.FOK)
    assert of(events, OrderCancelled)[0].reason is CancelReason.FILL_OR_KILL
    h.order(BUY, 50)  # market: nothing left to buy
    assert _open(h, "a") == (0, 0, 0, 0)
    # In a call phase a market buy reserves its protection price (5% over the
    # reference) until the uncross.
    h.phase(TradingPhase.PRE_OPEN)
    h.place(BUY, 50)
    assert _open(h, "a") == (50 * 10_500, 1, 50, 0)  # last trade 10_000
    h.place(SELL, 20, 10_000, account="b")
    events = h.phase(TradingPhase.CONTINUOUS)
    assert of(events, AuctionCompleted) == [AuctionCompleted("X", 10_000, 20)]
    left = [e for e in of(events, OrderCancelled) if e.account == "a"]
    assert [(e.cancelled_quantity, e.reason) for e in left] == [
        (30, CancelReason.AUCTION_UNEXECUTED)
    ]
    assert _open(h, "a") == (0, 0, 0, 0)
    assert h.ledger("a").cash == 10_000_000 - 300_000


def test_mass_cancel_releases_everything() -> None:
    h = _harness()
    h.fund("a", 10_000_000)
    for price in (9_000, 9_100, 9_200):
        h.place(BUY, 10, price)
    h.place(SELL, 10, 11_000)
    h.run(MassCancel(h.tick(), "a"))
    assert _open(h, "a") == (0, 0, 0, 0)


# -- funding -------------------------------------------------------------------


def test_funding_credits_and_debits_down_to_the_buying_power() -> None:
    h = _harness()
    assert h.fund("a", 1_000_000) == [AccountFunded("a", 1_000_000, 1_000_000)]
    assert h.fund("a", -200_000) == [AccountFunded("a", -200_000, 800_000)]
    h.place(BUY, 50, 10_000)  # reserves 500_000
    assert h.fund("a", -300_000) == [AccountFunded("a", -300_000, 500_000)]
    refusal = command_rejected(h.fund("a", -1))
    assert refusal == CommandRejected(
        "",
        RejectReason.RISK_BUYING_POWER,
        "a debit of 0.0001 exceeds the buying power 0.0000 of account a",
    )
    assert (h.ledger("a").cash, h.ledger("a").reserved) == (500_000, 500_000)
    refusal = command_rejected(h.fund("new", -5))
    assert refusal.text == "a debit of 0.0005 exceeds the buying power 0.0000 of account new"


def test_debit_refused_even_without_enforcement() -> None:
    h = RiskHarness(enforce=False)
    h.fund("a", 100)
    assert command_rejected(h.fund("a", -101)).reason is RejectReason.RISK_BUYING_POWER
    assert h.fund("a", -100) == [AccountFunded("a", -100, 0)]


@pytest.mark.parametrize(("account", "amount"), [("", 100), ("a", 0)])
def test_funding_needs_an_account_and_an_amount(account: str, amount: int) -> None:
    h = _harness()
    refusal = command_rejected(h.run(FundAccount(h.tick(), account, amount)))
    assert refusal.reason is RejectReason.INVALID_AMOUNT


# -- average-cost profit and loss ----------------------------------------------


def _trade(h: RiskHarness, buyer: str, seller: str, quantity: int, price: int) -> None:
    h.place(SELL, quantity, price, account=seller)
    trades = of(h.order(BUY, quantity, price, account=buyer), Trade)
    assert sum(t.quantity for t in trades) == quantity
    assert {t.price for t in trades} == {price}


def _pnl(h: RiskHarness, account: str) -> tuple[int, int, int, int, int]:
    """(quantity, cost, average cost, realized, unrealized at the last trade)."""
    holding = h.holding(account)
    mark = h.engine.books["X"].last_trade_price
    return (
        holding.quantity,
        holding.cost,
        holding.average_cost,
        holding.realized,
        holding.unrealized(mark),
    )


def test_average_cost_long_partial_close_flip_and_cover() -> None:
    h = RiskHarness(enforce=False)
    # Long: 100 @ 1.0000 and 100 @ 2.0000, average 1.5000.
    _trade(h, "a", "m", 100, 10_000)
    _trade(h, "a", "m", 100, 20_000)
    assert _pnl(h, "a") == (200, 3_000_000, 15_000, 0, 200 * 20_000 - 3_000_000)
    # Partial close: 50 @ 3.0000 realizes 50 * 1.5000.
    _trade(h, "m", "a", 50, 30_000)
    assert _pnl(h, "a") == (150, 2_250_000, 15_000, 750_000, 150 * 30_000 - 2_250_000)
    # Flip: selling 200 @ 2.5000 closes 150 (+150 * 1.0000), opens short 50 @ 2.5000.
    _trade(h, "m", "a", 200, 25_000)
    assert _pnl(h, "a") == (-50, -1_250_000, 25_000, 2_250_000, 0)
    # Cover 20 @ 2.0000: +20 * 0.5000.
    _trade(h, "a", "m", 20, 20_000)
    assert _pnl(h, "a") == (-30, -750_000, 25_000, 2_350_000, -30 * 20_000 + 750_000)
    assert h.holding("a").unrealized(30_000) == -150_000  # short 30, 0.5000 against
    # Cover the rest 30 @ 2.4000: +30 * 0.1000, flat.
    _trade(h, "a", "m", 30, 24_000)
    assert _pnl(h, "a") == (0, 0, 0, 2_380_000, 0)
    # What a made is what it has in cash, and m has lost exactly that.
    assert h.ledger("a").cash == 2_380_000
    assert h.ledger("m").cash == -2_380_000
    assert h.holding("m").quantity == 0
    assert h.holding("m").realized == -2_380_000


def test_realized_plus_unrealized_is_zero_sum_at_any_mark() -> None:
    h = RiskHarness(enforce=False)
    _trade(h, "a", "m", 70, 10_000)
    _trade(h, "b", "a", 30, 12_000)
    _trade(h, "m", "b", 50, 9_000)
    _trade(h, "a", "b", 25, 11_000)
    for mark in (0, 9_000, 10_000, 12_345):
        total = 0
        for account in ("a", "b", "m"):
            holding = h.holding(account)
            total += holding.realized + holding.unrealized(mark)
            # Per account: realized + unrealized = cash flow + position at the mark.
            assert holding.realized + holding.unrealized(mark) == (
                h.ledger(account).cash + holding.quantity * mark
            )
        assert total == 0


def test_partial_close_rounds_the_cost_taken_away_half_to_even() -> None:
    h = RiskHarness(enforce=False)
    _trade(h, "a", "m", 1, 10_000)
    _trade(h, "a", "m", 1, 10_001)
    assert _pnl(h, "a")[:3] == (2, 20_001, 10_000)  # 10_000.5 to even
    _trade(h, "m", "a", 1, 10_000)
    assert (h.holding("a").cost, h.holding("a").realized) == (10_001, 0)
    _trade(h, "m", "a", 1, 10_000)
    assert h.position("a") == (0, 0, -1)  # bought for 20_001, sold for 20_000
    # Three shares at 30_002: a third is 10_000.67, taken away as 10_001.
    _trade(h, "b", "m", 1, 10_000)
    _trade(h, "b", "m", 2, 10_001)
    _trade(h, "m", "b", 1, 10_001)
    assert h.position("b") == (2, 20_001, 0)


def test_short_cover_and_flip_to_long() -> None:
    h = RiskHarness(enforce=False)
    _trade(h, "m", "a", 100, 10_000)  # a short 100 @ 1.0000
    assert _pnl(h, "a") == (-100, -1_000_000, 10_000, 0, 0)
    _trade(h, "a", "m", 150, 9_000)  # covers 100 (+0.1000 each), long 50 @ 0.9000
    assert _pnl(h, "a") == (50, 450_000, 9_000, 100_000, 0)
    assert h.holding("a").unrealized(9_500) == 25_000


def test_positions_are_per_symbol() -> None:
    h = RiskHarness(instrument("X"), instrument("Y"), enforce=False)
    h.place(SELL, 10, 10_000, account="m", symbol="Y")
    h.order(BUY, 10, 10_000, symbol="Y")
    assert h.position("a", "Y") == (10, 100_000, 0)
    assert "X" not in h.ledger("a").holdings or h.position("a", "X") == (0, 0, 0)
    assert h.ledger("a").cash == -100_000


def test_sides_are_symmetric() -> None:
    """The same trades seen from the other side: signs flip, nothing else."""
    h = RiskHarness(enforce=False)
    _trade(h, "a", "b", 100, 10_000)
    _trade(h, "b", "a", 40, 11_000)
    a, b = h.holding("a"), h.holding("b")
    assert (a.quantity, a.cost, a.realized) == (60, 600_000, 40_000)
    assert (b.quantity, b.cost, b.realized) == (-60, -600_000, -40_000)
