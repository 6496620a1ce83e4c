"""Settings of an in-process exchange for tests: every port picked free."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from matching import FundAccount, RiskLimits, SetRiskLimits
from server.app import Exchange
from server.config import Settings, load
from server.transport.settings import TlsSettings


def local_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The demo configuration in ``data_dir`` on free loopback ports, TLS off
    unless ``tls`` is given (tests of TLS itself turn it on)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "grpc_port": 0,
        "rest_port": 0,
        "feed_port": 0,
        "snapshot_port": 0,
        "tls": TlsSettings(enabled=False),
    }
    return replace(load(environ={}), **{**values, **overrides})


TEST_CASH = 1_000_000_000_0000
"""What ``prepare_accounts`` credits: 1 billion, so no test order lacks cash."""


async def prepare_accounts(exchange: Exchange, *accounts: str, cash: int = TEST_CASH) -> None:
    """Fund ``accounts`` and let them sell short, as an operator would before
    trading (the pre-trade risk controls stay on)."""
    core = exchange.core
    assert core is not None
    sequencer = core.sequencer
    for account in accounts:
        sequencer.submit(SetRiskLimits(sequencer.now(), account, OPEN_LIMITS))
        sequencer.submit(FundAccount(sequencer.now(), account, cash))
    await sequencer.durable()


OPEN_LIMITS = RiskLimits(allow_short_selling=True)
"""No limits but the buying power (and the kill switch)."""
