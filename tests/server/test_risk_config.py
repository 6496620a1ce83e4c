"""The ``[risk]`` section: market-wide controls journaled as ``ConfigureControls``."""

from pathlib import Path

import pytest

from matching import DEFAULT_MARKET_PROTECTION_BPS, ConfigureControls
from server.config import ConfigError, load
from server.risk_setup import describe_controls


def test_demo_controls_include_market_order_protection() -> None:
    risk = load(environ={}).risk
    controls = risk.controls(5)
    assert isinstance(controls, ConfigureControls)
    assert controls.timestamp == 5
    assert controls.enforce_limits
    assert controls.market_protection_bps == 500


def test_market_protection_percent_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[risk]\nmarket_protection_percent = "2.5"\n')
    assert load(path, environ={}).risk.controls(0).market_protection_bps == 250


def test_market_protection_defaults_when_unset(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[risk]\nenforce_limits = true\n")
    protection = load(path, environ={}).risk.market_protection_bps
    assert protection == DEFAULT_MARKET_PROTECTION_BPS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"-1"', "expected 0 to 100"),
        ('"100.01"', "expected 0 to 100"),
        ('"0.001"', "finer than"),
        ("5.5", "decimal string"),
    ],
)
def test_bad_market_protection_names_the_key(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[risk]\nmarket_protection_percent = {value}\n")
    with pytest.raises(ConfigError, match=f"risk.market_protection_percent.*{message}"):
        load(path, environ={})


def test_the_log_describes_market_controls_in_words_not_as_a_tuple() -> None:
    controls = ConfigureControls(
        0, True, 300_000_000_000, 60_000_000_000,
        ((700, 900_000_000_000), (1300, 900_000_000_000), (2000, 0)), 500,
    )  # fmt: skip
    assert describe_controls(controls) == (
        "pre-trade limits enforced; volatility pause 300 s; reopening call 60 s; "
        "circuit breaker 7% -> halt 900 s, 13% -> halt 900 s, 20% -> halt for the day; "
        "market order protection 5%"
    )
    assert "circuit breaker off" in describe_controls(ConfigureControls(0, False))
