"""``stx report pnl``, ``stx report trades`` and ``stx report compliance
cat``: the analytics service's reports as CSV (for spreadsheets, scripts and
regulators) or, the first two, as a table on a terminal.

CSV is the default when the output is not a terminal. Its money columns are
plain decimals with the contract's 4 places (190.0500, no thousands
separators), so a spreadsheet reads them as numbers and nothing is rounded.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

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
    "average_cost", "closing_price", "realized_pnl", "unrealized_pnl", "fees",
)  # fmt: skip
TRADE_COLUMNS = (
    "transact_time", "trade_id", "symbol", "side", "quantity", "price", "notional",
    "order_id", "client_order_id", "liquidity",
)  # fmt: skip


ORDER_COLUMNS = (
    "symbol", "order_count", "rejected_count", "filled_count", "canceled_count",
    "ordered_quantity", "filled_quantity", "fill_count", "fill_ratio",
    "order_to_trade_ratio", "cancel_rate", "average_fill_micros",
)  # fmt: skip
MARKET_COLUMNS = (
    "symbol", "trade_count", "volume", "notional", "vwap", "open_price", "high_price",
    "low_price", "close_price",
)  # fmt: skip
EVENT_COLUMNS = (
    "event_time", "sequence", "account_id", "report_sequence", "event", "order_status",
    "order_id", "client_order_id", "client_request_id", "symbol", "side", "order_type",
    "time_in_force", "price", "stop_price", "quantity", "leaves_quantity", "cum_quantity",
    "last_price", "last_quantity", "trade_id", "reject_reason", "cancel_reason",
    "sender_user_id", "sender_source", "sender_gateway",
)  # fmt: skip
"""The order-event trail's columns, documented one by one in docs/compliance.md."""


@click.group()
def report() -> None:
    """Reports of a day (profit and loss, trades, order and market statistics)
    and compliance files."""


@report.command()
@account_option
@date_option
@format_option
@target_option
@tls_options
def pnl(account: str, date: str, output: str | None, target: str, tls: ClientTls) -> None:
    """Profit and loss of each position on the day, by average cost, and the
    total (realized, unrealized at the day's closing price, and the fees when
    the exchange configures them)."""
    with client(target, tls) as exchange:
        statement = exchange.profit_and_loss(account, date)
    rows = [pnl_row(position) for position in statement.positions]
    rows.append(
        [
            "TOTAL", "", "", "", "", "", "",
            format_price(statement.realized_pnl), format_price(statement.unrealized_pnl),
            format_price(statement.fees),
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


@report.command("orders")
@account_option
@date_option
@format_option
@target_option
@tls_options
def order_statistics(
    account: str, date: str, output: str | None, target: str, tls: ClientTls
) -> None:
    """Statistics of the orders the account entered on the day: fill ratio,
    order-to-trade ratio, cancel rate, average time to fill."""
    with client(target, tls) as exchange:
        statistics = exchange.order_statistics(account, date)
    rows = [_statistics_row(line) for line in statistics.symbols]
    rows.append(_statistics_row(statistics.total, "TOTAL"))
    _emit(ORDER_COLUMNS, rows, output)


@report.command("market")
@date_option
@click.option("--symbol", default="", help="Only this instrument.")
@format_option
@target_option
@tls_options
def market_statistics(
    date: str, symbol: str, output: str | None, target: str, tls: ClientTls
) -> None:
    """Each symbol's trades, volume, VWAP and price range on the day."""
    with client(target, tls) as exchange:
        statistics = exchange.market_statistics(date, symbol)
    rows = [
        [
            line.symbol, str(line.trade_count), str(line.volume), line.notional,
            format_price(line.vwap), format_price(line.open_price),
            format_price(line.high_price), format_price(line.low_price),
            format_price(line.close_price),
        ]
        for line in statistics.symbols
    ]  # fmt: skip
    _emit(MARKET_COLUMNS, rows, output)


def _statistics_row(line: analytics_pb2.OrderStatistics, symbol: str = "") -> list[str]:
    return [
        symbol or line.symbol, str(line.order_count), str(line.rejected_count),
        str(line.filled_count), str(line.canceled_count), str(line.ordered_quantity),
        str(line.filled_quantity), str(line.fill_count), line.fill_ratio,
        line.order_to_trade_ratio, line.cancel_rate, str(line.average_fill_micros),
    ]  # fmt: skip


@report.group()
def compliance() -> None:
    """Compliance files (risk officers and administrators)."""


@compliance.command("cat")
@date_option
@click.option("--account", default="", help="Only this account (default: every account).")
@click.option(
    "--out", type=click.File("w", encoding="utf-8"), default="-", show_default="standard output"
)
@target_option
@tls_options
def cat_trail(date: str, account: str, out: TextIO, target: str, tls: ClientTls) -> None:
    """The order-event audit trail of the day (CAT style): every lifecycle
    event of every order, with microsecond times and the sender the journal
    recorded, as CSV."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    written = 0
    with client(target, tls) as exchange:
        for page in exchange.order_events(date, account):
            writer.writerows(event_row(event) for event in page.events)
            written += len(page.events)
            if out is not sys.stdout:
                click.echo(f"\r{written:,} events", nl=False, err=True)
    if out is not sys.stdout:
        click.echo(f"\r{written:,} events written to {out.name}", err=True)


def _name(enum: Any, number: int, prefix: str) -> str:
    return str(enum.Name(number)).removeprefix(prefix) if number else ""


def event_row(event: analytics_pb2.OrderEvent) -> list[str]:
    when = event.event_time.ToDatetime(tzinfo=UTC)
    return [
        when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        str(event.sequence),
        event.account_id,
        str(event.report_sequence),
        _name(orders_pb2.ExecType, event.exec_type, "EXEC_TYPE_"),
        _name(orders_pb2.OrderStatus, event.order_status, "ORDER_STATUS_"),
        str(event.order_id),
        event.client_order_id,
        event.client_request_id,
        event.symbol,
        _name(common_pb2.Side, event.side, "SIDE_"),
        _name(common_pb2.OrderType, event.order_type, "ORDER_TYPE_"),
        _name(common_pb2.TimeInForce, event.time_in_force, "TIME_IN_FORCE_"),
        format_price(event.price),
        format_price(event.stop_price),
        str(event.quantity),
        str(event.leaves_quantity),
        str(event.cum_quantity),
        format_price(event.last_price),
        str(event.last_quantity),
        str(event.trade_id),
        _name(common_pb2.RejectReason, event.reject_reason, "REJECT_REASON_"),
        _name(common_pb2.CancelReason, event.cancel_reason, "CANCEL_REASON_"),
        event.sender_user_id,
        event.sender_source,
        event.sender_gateway,
    ]


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
        format_price(position.fees),
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
