"""`stx` refuses bad arguments with what is wrong with them, before any call."""

from __future__ import annotations

from click.testing import CliRunner

from clients.cli import order


def test_a_negative_quantity_is_out_of_range_not_an_unknown_option() -> None:
    result = CliRunner().invoke(order, ["buy", "AAPL", "-5"])
    assert result.exit_code == 2
    assert "No such option" not in result.output
    assert "QUANTITY" in result.output
    assert "-5 is not in the range x>=1" in result.output
