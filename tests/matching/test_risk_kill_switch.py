"""The kill switch under load (issue 8, section 3): many accounts with many
open orders in three instruments (limit orders, icebergs, GTD orders, stops,
and market orders queued in a call phase). Killing accounts cancels every
open order of theirs, with ``CancelReason.KILL_SWITCH``, and nothing of
anyone else; they cannot enter orders until the switch is reset.
"""

from matching import (
    AuctionCompleted,
    CancelReason,
    KillSwitchChanged,
    OrderAccepted,
    OrderCancelled,
    OrderType,
    RejectReason,
    SetKillSwitch,
    TimeInForce,
    Trade,
    TradingPhase,
)
from tests.matching.harness import BUY, SELL, of
from tests.matching.risk_harness import (
    RiskHarness,
    cancel_rejected,
    command_rejected,
    instrument,
    rejected,
)

ACCOUNTS = [f"acc{n:02d}" for n in range(16)]
VICTIMS = ("acc03", "acc11")


def _loaded() -> RiskHarness:
    h = RiskHarness(instrument("X"), instrument("Y"), instrument("P"))
    h.limits(allow_short_selling=True)
    h.phase(TradingPhase.PRE_OPEN, "P")
    for n, account in enumerate(ACCOUNTS):
        h.fund(account, 10**10)
        for symbol in ("X", "Y"):
            for level in range(3):
                h.place(BUY, 10 + n, 9_000 + 10 * n + level, account=account, symbol=symbol)
                h.place(SELL, 10 + n, 11_000 - 10 * n - level, account=account, symbol=symbol)
            h.place(BUY, 100, 9_500, account=account, symbol=symbol, display=10)
            h.place(
                SELL,
                5,
                12_000,
                account=account,
                symbol=symbol,
                tif=TimeInForce.GTD,
                expire=10**15,
            )
            h.place(BUY, 5, account=account, symbol=symbol, order_type=OrderType.STOP, stop=13_000)
            h.place(
                SELL,
                5,
                8_000,
                account=account,
                symbol=symbol,
                order_type=OrderType.STOP_LIMIT,
                stop=8_500,
            )
        # The call phase: crossed limit orders and queued market orders.
        h.place(BUY, 7, 10_100, account=account, symbol="P")
        h.place(SELL, 7, 9_900, account=account, symbol="P")
        h.place(BUY if n % 2 else SELL, 3, account=account, symbol="P")
    return h


def _open_orders(h: RiskHarness) -> dict[int, tuple[str, int]]:
    """Every open order (stops too): account and open quantity."""
    found = {o.order_id: (o.account, o.remaining) for o in h.engine.orders.orders()}
    found.update({oid: (s.account, s.quantity) for oid, s in h.engine.stops.items()})
    return found


def test_killing_accounts_cancels_all_their_orders_and_nothing_else() -> None:
    h = _loaded()
    before = _open_orders(h)
    assert len(before) == 16 * 23
    reserved = {account: h.ledger(account).reserved for account in ACCOUNTS}
    events = h.kill(*VICTIMS, reason="runaway algo")

    cancelled = of(events, OrderCancelled)
    victims_orders = {oid for oid, (account, _) in before.items() if account in VICTIMS}
    assert len(victims_orders) == 2 * 23
    assert {e.order_id for e in cancelled} == victims_orders
    assert len(cancelled) == len(victims_orders)
    assert {e.reason for e in cancelled} == {CancelReason.KILL_SWITCH}
    for event in cancelled:
        assert (event.account, event.cancelled_quantity) == before[event.order_id]
    assert of(events, KillSwitchChanged) == [
        KillSwitchChanged("acc03", True, "runaway algo", 23),
        KillSwitchChanged("acc11", True, "runaway algo", 23),
    ]
    # Each account's cancels come before its KillSwitchChanged.
    first_switch = events.index(of(events, KillSwitchChanged)[0])
    assert all(events.index(e) < first_switch for e in cancelled if e.account == "acc03")
    assert not of(events, Trade)

    after = _open_orders(h)
    assert after == {oid: v for oid, v in before.items() if oid not in victims_orders}
    for account in ACCOUNTS:
        ledger = h.ledger(account)
        if account in VICTIMS:
            assert (ledger.reserved, ledger.open_orders, ledger.killed) == (0, 0, True)
            assert ledger.kill_reason == "runaway algo"
            for holding in ledger.holdings.values():
                assert (holding.open_buy, holding.open_sell) == (0, 0)
            assert ledger.cash == 10**10
        else:
            assert ledger.reserved == reserved[account]
            assert not ledger.killed
    assert all(o.account not in VICTIMS for o in h.engine.books["P"].market_buys.orders())
    assert all(o.account not in VICTIMS for o in h.engine.books["P"].market_sells.orders())


def test_a_killed_account_cannot_trade_until_reset() -> None:
    h = _loaded()
    before = _open_orders(h)
    a_victim_order = min(oid for oid, (account, _) in before.items() if account == "acc03")
    h.kill(*VICTIMS)
    for symbol in ("X", "Y", "P"):
        for kwargs in (
            {"price": 9_000},
            {"price": 0},
            {"order_type": OrderType.STOP, "stop": 14_000},
        ):
            refusal = rejected(h.order(BUY, 1, account="acc03", symbol=symbol, **kwargs))  # type: ignore[arg-type]
            assert refusal.reason is RejectReason.KILL_SWITCH_ACTIVE
            assert refusal.text == "account acc03 is blocked by a kill switch: risk officer"
    # Its orders are gone: replaces and cancels find nothing.
    assert cancel_rejected(h.replace(a_victim_order, 9_001, 50, account="acc03")).reason is (
        RejectReason.UNKNOWN_ORDER
    )
    assert cancel_rejected(h.cancel(a_victim_order, account="acc03")).reason is (
        RejectReason.UNKNOWN_ORDER
    )
    # Everyone else trades on, never against a killed account.
    events = h.order(BUY, 2_000, 11_000, account="acc00", symbol="X")
    trades = of(events, Trade)
    assert trades
    assert not {t.sell_account for t in trades} & set(VICTIMS)
    events = h.phase(TradingPhase.CONTINUOUS, "P")
    assert of(events, AuctionCompleted)
    assert not {(t.buy_account, t.sell_account) for t in of(events, Trade)} & {
        (a, b) for a in ACCOUNTS for b in ACCOUNTS if a in VICTIMS or b in VICTIMS
    }
    # Funding still works while killed.
    assert h.fund("acc03", 5)

    events = h.kill("acc03", active=False, reason="")
    assert events == [KillSwitchChanged("acc03", False, "", 0)]
    assert h.ledger("acc03").kill_reason == ""
    assert of(h.order(BUY, 1, 9_000, account="acc03"), OrderAccepted)
    assert rejected(h.order(BUY, 1, 9_000, account="acc11")).reason is (
        RejectReason.KILL_SWITCH_ACTIVE
    )


def test_kill_switch_applies_without_enforcement_and_twice_is_harmless() -> None:
    h = RiskHarness(enforce=False)
    h.place(BUY, 1, 9_000)
    events = h.kill("a", reason="first")
    assert of(events, KillSwitchChanged) == [KillSwitchChanged("a", True, "first", 1)]
    assert h.kill("a", reason="second") == [KillSwitchChanged("a", True, "second", 0)]
    assert rejected(h.order(BUY, 1, 9_000)).text == (
        "account a is blocked by a kill switch: second"
    )
    # An account never seen before can be blocked in advance.
    assert h.kill("new") == [KillSwitchChanged("new", True, "risk officer", 0)]
    assert rejected(h.order(SELL, 1, 9_000, account="new")).reason is (
        RejectReason.KILL_SWITCH_ACTIVE
    )


def test_kill_switch_needs_accounts() -> None:
    h = RiskHarness()
    for accounts in ((), ("a", "")):
        refusal = command_rejected(h.run(SetKillSwitch(h.tick(), accounts, True, "x")))
        assert refusal.reason is RejectReason.UNKNOWN_ACCOUNT
    assert not h.engine.risk.accounts.get("a") or not h.ledger("a").killed
