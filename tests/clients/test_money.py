"""Prices typed by people become exact fixed-point integers, or are refused."""

import pytest

from clients.money import format_price, parse_price


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
    assert format_price(1_900_000) == "190"
    assert format_price(1_900_500) == "190.05"
