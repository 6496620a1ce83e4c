"""The simulator's order sizes follow each instrument's price."""

import pytest

from clients.simulate import QUOTE_VALUE, order_unit


@pytest.mark.parametrize(
    ("fair", "unit"),
    [
        (1_900_000, 100),  # 190.00: 100 shares
        (4_200_000, 10),
        (120_000, 1_000),  # 12.00
        (6_500_000_000, 1),  # 650,000.00: one share, never less
        (QUOTE_VALUE, 1),
        (QUOTE_VALUE // 10, 10),
    ],
)
def test_a_unit_is_worth_at_most_the_quote_value(fair: int, unit: int) -> None:
    assert order_unit(fair) == unit
    assert unit == 1 or unit * fair <= QUOTE_VALUE < 10 * unit * fair
