"""A harness for the risk tests: the engine harness plus accounts, limits,
market controls and explicit time.

Prices use a tick of 1 so that "one tick over" is one unit; the instrument
``X`` has a reference price (previous close) of 10_000 (= 1.0000).
"""

from __future__ import annotations

from matching import (
    DEFAULT_MARKET_PROTECTION_BPS,
    AdvanceTime,
    CancelRejected,
    CommandRejected,
    ConfigureControls,
    Event,
    FundAccount,
    Instrument,
    OrderRejected,
    RiskLimits,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
    TradingPhase,
)
from matching.ledger import AccountLedger, Holding
from tests.matching.harness import Harness, of

SECOND = 1_000_000_000
REFERENCE = 10_000


def instrument(symbol: str = "X", reference: int = REFERENCE, band_bps: int = 0) -> Instrument:
    return Instrument(symbol, 1, reference_price=reference, volatility_band_bps=band_bps)


class RiskHarness(Harness):
    """Every command is followed by ``check_invariants`` (risk ledger included)."""

    def __init__(
        self,
        *instruments: Instrument,
        phase: TradingPhase = TradingPhase.CONTINUOUS,
        enforce: bool = True,
        pause_ns: int = 10 * SECOND,
        reopen_call_ns: int = 5 * SECOND,
        breaker_levels: tuple[tuple[int, int], ...] = (),
        market_protection_bps: int = DEFAULT_MARKET_PROTECTION_BPS,
    ) -> None:
        super().__init__(*(instruments or (instrument(),)), phase=phase)
        self.configured = self.run(
            ConfigureControls(
                self.tick(),
                enforce,
                pause_ns,
                reopen_call_ns,
                breaker_levels,
                market_protection_bps,
            )
        )

    def fund(self, account: str, amount: int) -> list[Event]:
        return self.run(FundAccount(self.tick(), account, amount))

    def limits(self, account: str = "", /, **fields: object) -> list[Event]:
        """Set ``account``'s limits (the defaults when empty)."""
        return self.run(SetRiskLimits(self.tick(), account, RiskLimits(**fields)))  # type: ignore[arg-type]

    def kill(
        self, *accounts: str, active: bool = True, reason: str = "risk officer"
    ) -> list[Event]:
        return self.run(SetKillSwitch(self.tick(), accounts, active, reason))

    def phase(self, phase: TradingPhase, symbol: str = "X") -> list[Event]:
        return self.run(SetTradingPhase(self.tick(), symbol, phase))

    def advance_to(self, timestamp: int) -> list[Event]:
        """Let time pass up to ``timestamp`` (the next ``tick`` is after it)."""
        assert timestamp >= self.clock
        self.clock = timestamp
        return self.run(AdvanceTime(timestamp))

    def ledger(self, account: str) -> AccountLedger:
        return self.engine.risk.accounts[account]

    def holding(self, account: str, symbol: str = "X") -> Holding:
        return self.engine.risk.accounts[account].holdings[symbol]

    def position(self, account: str, symbol: str = "X") -> tuple[int, int, int]:
        """(quantity, cost, realized) of ``account`` in ``symbol``."""
        holding = self.holding(account, symbol)
        return holding.quantity, holding.cost, holding.realized


def rejected(events: list[Event]) -> OrderRejected:
    """The one OrderRejected of ``events`` (and nothing was accepted)."""
    (event,) = of(events, OrderRejected)
    assert len(events) == 1, events
    return event


def cancel_rejected(events: list[Event]) -> CancelRejected:
    (event,) = of(events, CancelRejected)
    assert len(events) == 1, events
    return event


def command_rejected(events: list[Event]) -> CommandRejected:
    (event,) = of(events, CommandRejected)
    assert len(events) == 1, events
    return event
