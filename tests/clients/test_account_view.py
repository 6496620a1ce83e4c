from stocktraderx.v1 import risk_pb2

from clients.account_view import describe_account


def test_an_account_shows_balances_then_a_row_per_position() -> None:
    account = risk_pb2.Account(
        account_id="DEMO", currency="USD", cash_balance=9_981_000_000, buying_power=9_900_000_000,
        realized_pnl=0, unrealized_pnl=5_000,
        positions=[risk_pb2.Position(symbol="AAPL", quantity=100, average_cost=1_900_000,
                                     mark_price=1_900_500, unrealized_pnl=5_000)],
    )  # fmt: skip
    lines = describe_account(account)
    assert lines[0] == "account DEMO (USD)"
    assert lines[1].split() == ["cash", "998,100.0000"]
    assert lines[4].split() == ["unrealized", "P&L", "0.5000"]
    assert lines[-1].split() == ["AAPL", "100", "190.0000", "190.0500", "0.0000", "0.5000"]
    empty = describe_account(risk_pb2.Account(account_id="X", kill_switch_active=True))
    assert "KILL SWITCH ACTIVE" in empty[0]
    assert empty[-1].strip() == "no positions"
