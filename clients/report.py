"""``stx report pnl`` and ``stx report trades``: the analytics service's
reports as CSV (for spreadsheets and scripts) or as a table on a terminal.

CSV is the default when the output is not a terminal. Its money columns are
plain decimals with the contract's 4 places (190.0500, no thousands
separators), so a spreadsheet reads them as numbers and nothing is rounded.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import click
from stocktraderx.v1 import analytics_pb2, common_pb2, orders_pb2

from clients.connect import account_option, client, target_option
from clients.money import format_price
from clients.transport import ClientTls, tls_options

date_option = click.option(
    "--date",
    default=lambda: datetime.now(UTC).date().isoformat(),
    show_default="today (UTC)",
    help="The UTC day, YYYY-MM-DD.",
)
format_option = click.option(
    "--format",
    "output",
    type=click.Choice(["table", "csv"]),
    default=None,
    show_default="table on a terminal, else csv",
)

PNL_COLUMNS = (
    "symbol", "opening_quantity", "bought_quantity", "sold_quantity", "closing_quantity",
    "average_cost", "closing_price", "realized_pnl", "unrealized_pnl",
)  # fmt: skip
TRADE_COLUMNS = (
    "transact_time", "trade_id", "symbol", "side", "quantity", "price", "notional",
    "order_id", "client_order_id", "liquidity",
)  # fmt: skip


@click.group()
def report() -> None:
    """Reports of an account's day: profit and loss, trades."""


@report.command()
@account_option
@date_option
@format_option
@target_option
@tls_options
def pnl(account: str, date: str, output: str | None, target: str, tls: ClientTls) -> None:
    """Profit and loss of each position on the day, by average cost, and the
    total (realized, and unrealized at the day's closing price)."""
    with client(target, tls) as exchange:
        statement = exchange.profit_and_loss(account, date)
    rows = [pnl_row(position) for position in statement.positions]
    rows.append(
        [
            "TOTAL", "", "", "", "", "", "",
            format_price(statement.realized_pnl), format_price(statement.unrealized_pnl),
        ]
    )  # fmt: skip
    _emit(PNL_COLUMNS, rows, output)


@report.command()
@account_option
@date_option
@click.option("--symbol", default="", help="Only this instrument.")
@format_option
@target_option
@tls_options
def trades(
    account: str, date: str, symbol: str, output: str | None, target: str, tls: ClientTls
) -> None:
    """Every fill of the account's orders on the day."""
    rows: list[list[str]] = []
    with client(target, tls) as exchange:
        for page in exchange.trade_report(account, date, symbol):
            rows.extend(trade_row(fill) for fill in page.fills)
    _emit(TRADE_COLUMNS, rows, output)


def pnl_row(position: analytics_pb2.PositionProfitAndLoss) -> list[str]:
    return [
        position.symbol,
        str(position.opening_quantity),
        str(position.bought_quantity),
        str(position.sold_quantity),
        str(position.closing_quantity),
        format_price(position.average_cost),
        format_price(position.closing_price),
        format_price(position.realized_pnl),
        format_price(position.unrealized_pnl),
    ]


def trade_row(fill: analytics_pb2.TradeReportFill) -> list[str]:
    side = common_pb2.Side.Name(fill.side).removeprefix("SIDE_").lower()
    liquidity = orders_pb2.LiquidityIndicator.Name(fill.liquidity)
    return [
        fill.transact_time.ToJsonString(),
        str(fill.trade_id),
        fill.symbol,
        side,
        str(fill.quantity),
        format_price(fill.price),
        fill.notional,
        str(fill.order_id),
        fill.client_order_id,
        liquidity.removeprefix("LIQUIDITY_INDICATOR_").lower(),
    ]


def _emit(columns: Sequence[str], rows: list[list[str]], output: str | None) -> None:
    if (output or ("table" if sys.stdout.isatty() else "csv")) == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
    for line in (list(columns), *rows):
        # Text columns (symbol, ids, names) to the left, numbers to the right.
        click.echo(
            "  ".join(
                cell.rjust(width) if cell[:1].isdigit() or cell[:1] == "-" else cell.ljust(width)
                for cell, width in zip(line, widths, strict=True)
            ).rstrip()
        )
