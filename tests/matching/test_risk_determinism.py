"""Determinism with risk and protection (issue 8): the same commands on a fresh
engine give the same events and state hash after every command, and an
engine restored from a snapshot taken at any point (mid-pause and mid-halt
included) continues exactly as the original did.
"""

import json

import pytest

from matching import (
    AdvanceTime,
    AuctionCompleted,
    CancelOrder,
    Command,
    ConfigureControls,
    Engine,
    Event,
    FundAccount,
    Instrument,
    NewOrder,
    OrderType,
    ReplaceOrder,
    RiskLimits,
    SelfTradePrevention,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
    Side,
    TimeInForce,
    TradingPaused,
    TradingPhase,
)
from matching.snapshot import restore_snapshot, take_snapshot

S = 1_000_000_000
BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrderType.LIMIT
INSTRUMENTS = (
    Instrument("A", 1, reference_price=10_000, volatility_band_bps=500),
    Instrument("B", 1, reference_price=10_000),
)


def _order(t: int, account: str, symbol: str, side: Side, quantity: int, price: int) -> NewOrder:
    return NewOrder(t, account, symbol, side, LIMIT, quantity, price)


def _script() -> tuple[list[Command], int, int]:
    """A trading session: funding, limits, a band pause on A, a circuit
    breaker halt, a kill switch; and the indexes of the commands after which
    A is paused and the market halted."""
    c: list[Command] = [
        ConfigureControls(1, True, 10 * S, 5 * S, ((700, 60 * S), (1300, 120 * S), (2000, 0))),
        SetRiskLimits(2, "", RiskLimits(max_order_quantity=500, allow_short_selling=True)),
        SetRiskLimits(3, "mm", RiskLimits(allow_short_selling=True, max_open_orders=40)),
        FundAccount(4, "mm", 10**9),
        FundAccount(5, "a", 50_000_000),
        FundAccount(6, "b", 20_000_000),
    ]
    t = 10
    for symbol in ("A", "B"):
        for step in range(1, 5):
            t += 1
            c.append(_order(t, "mm", symbol, BUY, 50, 10_000 - 150 * step))
            t += 1
            c.append(_order(t, "mm", symbol, SELL, 50, 10_000 + 150 * step))
    c += [
        NewOrder(100, "a", "A", BUY, OrderType.STOP, 20, stop_price=10_300),
        NewOrder(101, "b", "B", SELL, LIMIT, 30, 10_200, display_quantity=10),
        NewOrder(102, "b", "A", BUY, LIMIT, 10, 9_000, TimeInForce.GTD, expire_time=100 + 30 * S),
        ReplaceOrder(103, "mm", 1, 9_860, 60),
        NewOrder(
            104,
            "mm",
            "A",
            SELL,
            LIMIT,
            10,
            9_860,
            self_trade_prevention=SelfTradePrevention.DECREMENT,
        ),
        # a sweeps A's asks 10_150 and 10_300 (the stop fires), then 10_450,
        # then 10_600 is beyond the band [9_500, 10_500]: A pauses.
        _order(105, "a", "A", BUY, 180, 10_700),
    ]
    paused = len(c) - 1
    c += [
        _order(106, "b", "A", SELL, 40, 10_550),
        CancelOrder(107, "a", 999),
        AdvanceTime(105 + 10 * S),  # reopening auction on A
        SetKillSwitch(110 + 10 * S, ("b",), True, "test"),
        _order(111 + 10 * S, "b", "B", BUY, 1, 9_000),
        SetKillSwitch(112 + 10 * S, ("b",), False, ""),
        # B falls 22%; A is 6% up: the index is down 8%.
        _order(113 + 10 * S, "mm", "B", BUY, 100, 7_800),
        _order(114 + 10 * S, "b", "B", SELL, 250, 7_800),
    ]
    halted = len(c) - 1
    c += [
        _order(115 + 10 * S, "a", "B", BUY, 10, 8_300),
        AdvanceTime(114 + 70 * S),  # PRE_OPEN
        _order(115 + 70 * S, "a", "B", BUY, 10, 8_600),
        _order(116 + 70 * S, "b", "B", SELL, 10, 8_500),
        AdvanceTime(114 + 75 * S),  # CONTINUOUS, reopening auction on B
        SetTradingPhase(200 + 75 * S, "A", TradingPhase.CLOSING_AUCTION),
        SetTradingPhase(201 + 75 * S, "A", TradingPhase.CLOSED),
    ]
    return c, paused, halted


def _run(engine: Engine, commands: list[Command]) -> tuple[list[list[Event]], list[str]]:
    events: list[list[Event]] = []
    hashes: list[str] = []
    for command in commands:
        events.append(engine.process(command))
        engine.check_invariants()
        hashes.append(engine.state_hash())
    return events, hashes


def test_the_script_does_what_it_says() -> None:
    commands, paused, halted = _script()
    engine = Engine(INSTRUMENTS)
    events, _ = _run(engine, commands)
    assert [e.cause for e in events[paused] if isinstance(e, TradingPaused)] == ["price_band"]
    assert [(e.symbol, e.level) for e in events[halted] if isinstance(e, TradingPaused)] == [
        ("A", 1),
        ("B", 1),
    ]
    auctions = [e.symbol for batch in events for e in batch if isinstance(e, AuctionCompleted)]
    assert auctions[:2] == ["A", "B"]
    assert engine.books["A"].phase is TradingPhase.CLOSED


def test_replay_gives_the_same_events_and_hashes() -> None:
    commands, _, _ = _script()
    first = _run(Engine(INSTRUMENTS), commands)
    second = _run(Engine(INSTRUMENTS), commands)
    assert first == second
    # The hash follows the accounts: funding, limits and kill switches change it.
    hashes = first[1]
    assert len(set(hashes[:6])) == 6


@pytest.mark.parametrize("where", ["paused", "halted", "every"])
def test_a_restored_snapshot_continues_identically(where: str) -> None:
    commands, paused, halted = _script()
    events, hashes = _run(Engine(INSTRUMENTS), commands)
    points = {"paused": [paused], "halted": [halted], "every": range(len(commands))}[where]
    for index in points:
        engine = Engine(INSTRUMENTS)
        for command in commands[: index + 1]:
            engine.process(command)
        snapshot = json.loads(json.dumps(take_snapshot(engine)))
        restored = restore_snapshot(snapshot)
        restored.check_invariants()
        assert restored.state_hash() == hashes[index]
        tail_events, tail_hashes = _run(restored, commands[index + 1 :])
        assert tail_events == events[index + 1 :], index
        assert tail_hashes == hashes[index + 1 :], index


def test_mid_pause_snapshot_keeps_the_pause() -> None:
    commands, paused, _ = _script()
    engine = Engine(INSTRUMENTS)
    for command in commands[: paused + 1]:
        engine.process(command)
    restored = restore_snapshot(json.loads(json.dumps(take_snapshot(engine))))
    for original, copy in ((engine.books["A"], restored.books["A"]),):
        assert copy.phase is original.phase is TradingPhase.PRE_OPEN
        assert copy.resume_at == original.resume_at == 105 + 10 * S
        assert (copy.band_low, copy.band_high) == (original.band_low, original.band_high)
    assert restored.schedule == [(105 + 10 * S, "A")]
    assert restored.risk.enforced
    assert restored.controls[1:] == engine.controls[1:]
    for name, ledger in engine.risk.accounts.items():
        copy_ledger = restored.risk.accounts[name]
        assert (copy_ledger.cash, copy_ledger.reserved, copy_ledger.open_orders) == (
            ledger.cash,
            ledger.reserved,
            ledger.open_orders,
        )
    assert engine.process(AdvanceTime(105 + 10 * S)) == restored.process(AdvanceTime(105 + 10 * S))


def test_market_order_protection_survives_a_snapshot() -> None:
    engine = Engine(INSTRUMENTS)
    engine.process(ConfigureControls(1, True, market_protection_bps=123))
    snapshot = json.loads(json.dumps(take_snapshot(engine)))
    restored = restore_snapshot(snapshot)
    restored.check_invariants()
    assert restored.controls[1:] == engine.controls[1:]
    assert restored.risk.protection_bps == 123
    # A snapshot from before market order protection (format 3) gets the default.
    snapshot["format"] = 3
    del snapshot["controls"][-1]
    older = restore_snapshot(snapshot)
    older.check_invariants()
    assert older.risk.protection_bps == older.controls.market_protection_bps == 500
