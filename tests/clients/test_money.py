"""Prices typed by people become exact fixed-point integers, or are refused."""

import pytest

from clients.money import format_amount, format_price, parse_price


@pytest.mark.parametrize(
    ("text", "units"),
    [("190.05", 1_900_500), ("@190", 1_900_000), (" 0.0001 ", 1), ("12.5", 125_000)],
)
def test_parse(text: str, units: int) -> None:
    assert parse_price(text) == units


@pytest.mark.parametrize("text", ["19x", "190.00001", "0", "-1", "NaN", ""])
def test_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"price|decimal"):
        parse_price(text)


def test_format_round_trips() -> None:
    for units in (1, 1_900_500, 1_900_000, 125_000, 99):
        assert parse_price(format_price(units)) == units


def test_every_price_and_amount_shows_the_contracts_four_decimals() -> None:
    # Issue 16: "190" was printed next to "190.01".
    assert format_price(1_900_000) == "190.0000"
    assert format_price(1_900_500) == "190.0500"
    assert format_price(120_050) == "12.0050"
    assert format_price(6_500_000_000) == "650000.0000"
    assert format_amount(1_900_125) == "190.0125"
    assert format_amount(10_000_000_000) == "1,000,000.0000"
    assert format_amount(-2_500) == "-0.2500"
