"""Bringing the engine's controls and accounts in line with the configuration.

The engine only knows what the journal told it, so the server journals what
the configuration says when they differ: the market-wide controls and the
default limits at start-up, and each account's role limits when the account
is opened (or, for accounts opened while the exchange was down, at the next
start). Limits a risk officer set on an account are never overwritten.
"""

from __future__ import annotations

import logging

from matching import Command, ConfigureControls, FundAccount, SetRiskLimits
from server.auth.access import ROLES_BY_NAME
from server.auth.directory import UserDirectory
from server.journal.codec import Origin
from server.model.view import CoreView
from server.risk_config import RiskSettings

_log = logging.getLogger(__name__)
_ROLE_NAMES: dict[int, str] = {int(number): name for name, number in ROLES_BY_NAME.items()}
SYSTEM = Origin("system:configuration", "local", "config")
DEMO_CASH = 1_000_000_0000
"""What ``make run`` credits each demo account that has no cash yet."""


def _same(controls: ConfigureControls, wanted: ConfigureControls) -> bool:
    return controls[1:] == wanted[1:]


class AccountSetup:
    def __init__(self, core: CoreView, risk: RiskSettings) -> None:
        self._core = core
        self._risk = risk
        self.owners: dict[str, str] = {}
        """Account -> owner's user id, for surveillance (wash trades)."""

    def _submit(self, command: Command) -> None:
        self._core.sequencer.submit(command, "", SYSTEM)

    def configure(self) -> None:
        """Journal the configured controls and default limits if they changed."""
        engine = self._core.engine
        now = self._core.sequencer.now
        wanted = self._risk.controls(0)
        if not _same(engine.controls, wanted):
            self._submit(wanted._replace(timestamp=now()))
            _log.info("market controls configured: %s", describe_controls(wanted))
        if engine.risk.default_limits != self._risk.defaults:
            self._submit(SetRiskLimits(now(), "", self._risk.defaults))

    def account_opened(self, account: str, owner: str, roles: tuple[int, ...]) -> None:
        """Give a new account its owner's role limits (the directory calls this)."""
        self.owners[account] = owner
        ledger = self._core.engine.risk.accounts.get(account)
        if ledger is not None and ledger.limits is not None:
            return
        names = frozenset(_ROLE_NAMES[role] for role in roles if role in _ROLE_NAMES)
        self._submit(
            SetRiskLimits(self._core.sequencer.now(), account, self._risk.limits_for(names))
        )

    async def sync(self, directory: UserDirectory) -> None:
        """Every owned account known, with limits; then new ones as they open."""
        for account, owner, roles in await directory.all_accounts():
            self.account_opened(account, owner, roles)
        directory.account_opened = self.account_opened
        await self._core.sequencer.durable()

    async def fund_demo(self, accounts: tuple[str, ...]) -> None:
        """Cash for the demo users' accounts, once."""
        ledgers = self._core.engine.risk.accounts
        for account in accounts:
            ledger = ledgers.get(account)
            if ledger is None or not ledger.cash:
                self._submit(FundAccount(self._core.sequencer.now(), account, DEMO_CASH))
        await self._core.sequencer.durable()


def describe_controls(controls: ConfigureControls) -> str:
    """The market controls as an operator reads them in the log (they were a
    raw tuple of nanoseconds: issue 16)."""
    breakers = ", ".join(
        f"{fall / 100:g}% -> halt {'for the day' if halt == 0 else f'{halt / 1e9:g} s'}"
        for fall, halt in controls.breaker_levels
    )
    return (
        f"pre-trade limits {'enforced' if controls.enforce_limits else 'off'}; "
        f"volatility pause {controls.pause_ns / 1e9:g} s; "
        f"reopening call {controls.reopen_call_ns / 1e9:g} s; "
        f"circuit breaker {breakers or 'off'}; "
        f"market order protection {controls.market_protection_bps / 100:g}%"
    )
