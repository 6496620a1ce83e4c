"""``stx account``: an account's cash, positions and profit and loss as text."""

from __future__ import annotations

from stocktraderx.v1 import risk_pb2

from clients.money import format_amount


def describe_account(account: risk_pb2.Account) -> list[str]:
    """The lines ``stx account`` prints: the balances, then one row per position."""
    lines = [
        f"account {account.account_id} ({account.currency or 'USD'})"
        + ("  KILL SWITCH ACTIVE" if account.kill_switch_active else ""),
        f"  cash           {format_amount(account.cash_balance):>18}",
        f"  buying power   {format_amount(account.buying_power):>18}",
        f"  realized P&L   {format_amount(account.realized_pnl):>18}",
        f"  unrealized P&L {format_amount(account.unrealized_pnl):>18}",
    ]
    if not account.positions:
        lines.append("  no positions")
        return lines
    lines.append(
        f"  {'symbol':<8}{'quantity':>12}{'avg cost':>14}{'mark':>14}"
        f"{'realized':>16}{'unrealized':>16}"
    )
    for position in sorted(account.positions, key=lambda item: item.symbol):
        lines.append(
            f"  {position.symbol:<8}{position.quantity:>12,}"
            f"{format_amount(position.average_cost):>14}{format_amount(position.mark_price):>14}"
            f"{format_amount(position.realized_pnl):>16}"
            f"{format_amount(position.unrealized_pnl):>16}"
        )
    return lines
