from stocktraderx.v1 import risk_pb2

from clients.account_view import describe_account
from clients.money import format_amount


def test_amounts_keep_two_decimals_at_least_and_every_other_one() -> None:
    assert format_amount(1_900_000) == "190.00"
    assert format_amount(1_900_500) == "190.05"
    assert format_amount(1_900_125) == "190.0125"
    assert format_amount(10_000_000_000) == "1,000,000.00"
    assert format_amount(-2_500) == "-0.25"


def test_an_account_shows_balances_then_a_row_per_position() -> None:
    account = risk_pb2.Account(
        account_id="DEMO", currency="USD", cash_balance=9_981_000_000, buying_power=9_900_000_000,
        realized_pnl=0, unrealized_pnl=5_000,
        positions=[risk_pb2.Position(symbol="AAPL", quantity=100, average_cost=1_900_000,
                                     mark_price=1_900_500, unrealized_pnl=5_000)],
    )  # fmt: skip
    lines = describe_account(account)
    assert lines[0] == "account DEMO (USD)"
    assert lines[1].split() == ["cash", "998,100.00"]
    assert lines[4].split() == ["unrealized", "P&L", "0.50"]
    assert lines[-1].split() == ["AAPL", "100", "190.00", "190.05", "0.00", "0.50"]
    empty = describe_account(risk_pb2.Account(account_id="X", kill_switch_active=True))
    assert "KILL SWITCH ACTIVE" in empty[0]
    assert empty[-1].strip() == "no positions"
