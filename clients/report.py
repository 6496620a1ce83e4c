"""``stx report pnl|trades|orders|market`` and ``stx report compliance
...`` (``compliance_report.py``): the analytics service's reports as a table
on a terminal, CSV (for spreadsheets, scripts and regulators), Parquet (for
other engines) or a PDF document with charts (``report_pdf.py``).

CSV is the default when the output is not a terminal. Its money columns are
plain decimals with the contract's 4 places (190.0500, no thousands
separators), so a spreadsheet reads them as numbers and nothing is rounded.
"""

from __future__ import annotations

import click
from stocktraderx.v1 import analytics_pb2, common_pb2, orders_pb2

from clients.compliance_report import compliance, date_option, format_option, out_option
from clients.connect import account_option, client, target_option
from clients.latency_report import latency
from clients.money import format_price
from clients.report_files import deliver, progress
from clients.report_model import Chart, Report, Section, Series
from clients.transport import ClientTls, tls_options
from clients.venue_report import venues

PNL_COLUMNS = (
    "symbol", "opening_quantity", "bought_quantity", "sold_quantity", "closing_quantity",
    "average_cost", "closing_price", "realized_pnl", "unrealized_pnl", "fees",
)  # fmt: skip
TRADE_COLUMNS = (
    "transact_time", "trade_id", "symbol", "side", "quantity", "price", "notional",
    "order_id", "client_order_id", "liquidity",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "symbol", "fill_count", "bought_quantity", "sold_quantity", "bought_notional",
    "sold_notional", "average_buy_price", "average_sell_price",
)  # fmt: skip
ORDER_COLUMNS = (
    "symbol", "order_count", "rejected_count", "filled_count", "canceled_count",
    "ordered_quantity", "filled_quantity", "fill_count", "fill_ratio",
    "order_to_trade_ratio", "cancel_rate", "average_fill_micros", "arrival_slippage_bps",
    "vwap_slippage_bps", "arrival_priced_quantity",
)  # fmt: skip
MARKET_COLUMNS = (
    "symbol", "trade_count", "volume", "notional", "vwap", "open_price", "high_price",
    "low_price", "close_price",
)  # fmt: skip


@click.group()
def report() -> None:
    """Reports of a day (profit and loss, trades, order and market statistics)
    and compliance files."""


report.add_command(compliance)
compliance.add_command(venues)
report.add_command(latency)


@report.command()
@account_option
@date_option
@format_option
@out_option
@target_option
@tls_options
def pnl(account: str, date: str, output: str | None, out: str, target: str, tls: ClientTls) -> None:
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
    times = [point.time.ToJsonString() for point in statement.timeline]
    chart = Chart(
        "Profit and loss over the day", "line",
        [
            Series("realized", times, [p.realized_pnl / 10_000 for p in statement.timeline]),
            Series(
                "realized + unrealized", times,
                [(p.realized_pnl + p.unrealized_pnl) / 10_000 for p in statement.timeline],
            ),
        ],
        "P&L",
    )  # fmt: skip
    document = Report(
        f"Profit and loss of {account} on {date}", date,
        [("account", account), ("day (UTC)", date), ("net P&L", format_price(statement.net_pnl))],
        [Section("Positions", PNL_COLUMNS, rows)],
        integers=frozenset({"opening_quantity", "bought_quantity", "sold_quantity",
                            "closing_quantity"}),
        charts=[chart] if statement.timeline else [],
        notes=[
            "By average cost. The chart marks each position at the account's latest fill in "
            "its symbol (before the day's first, the previous close); the table values the "
            "closing position at the day's closing price."
        ],
    )  # fmt: skip
    deliver(document, output, out)


@report.command()
@account_option
@date_option
@click.option("--symbol", default="", help="Only this instrument.")
@format_option
@out_option
@target_option
@tls_options
def trades(
    account: str,
    date: str,
    symbol: str,
    output: str | None,
    out: str,
    target: str,
    tls: ClientTls,
) -> None:
    """Every fill of the account's orders on the day."""
    fills: list[analytics_pb2.TradeReportFill] = []
    summaries: list[analytics_pb2.TradeReportSummary] = []
    with client(target, tls) as exchange, progress("fills") as advance:
        for page in exchange.trade_report(account, date, symbol):
            fills.extend(page.fills)
            summaries = list(page.summaries)
            advance(len(page.fills))
        market = exchange.market_statistics(date, symbol)
    charts = [
        Chart(
            f"Fill prices of {account}", "line",
            [
                Series(name, [f.transact_time.ToJsonString() for f in chosen],
                       [f.price / 10_000 for f in chosen])
                for name, chosen in _by_symbol(fills).items()
            ],
            "price",
        ),
        _volume_and_vwap(market),
    ] if fills else []  # fmt: skip
    document = Report(
        f"Trades of {account} on {date}", date,
        [("account", account), ("day (UTC)", date), ("symbol", symbol or "all")],
        [
            Section("Fills", TRADE_COLUMNS, [trade_row(fill) for fill in fills]),
            Section("Per symbol", SUMMARY_COLUMNS, [_summary_row(line) for line in summaries]),
        ],
        integers=frozenset({"trade_id", "quantity", "order_id"}), charts=charts,
    )  # fmt: skip
    deliver(document, output, out)


def _by_symbol(
    fills: list[analytics_pb2.TradeReportFill],
) -> dict[str, list[analytics_pb2.TradeReportFill]]:
    grouped: dict[str, list[analytics_pb2.TradeReportFill]] = {}
    for fill in fills:
        grouped.setdefault(fill.symbol, []).append(fill)
    return grouped


def _volume_and_vwap(market: analytics_pb2.GetMarketStatisticsResponse) -> Chart:
    names = [line.symbol for line in market.symbols]
    return Chart(
        "Market volume and VWAP per symbol", "bar",
        [Series("volume (shares)", names, [float(line.volume) for line in market.symbols])],
        "shares",
        second=Series("VWAP", names, [line.vwap / 10_000 for line in market.symbols]),
        second_label="price",
    )  # fmt: skip


@report.command("orders")
@account_option
@date_option
@format_option
@out_option
@target_option
@tls_options
def order_statistics(
    account: str, date: str, output: str | None, out: str, target: str, tls: ClientTls
) -> None:
    """Statistics of the orders the account entered on the day: fill ratio,
    order-to-trade ratio, cancel rate, average time to fill, slippage."""
    with client(target, tls) as exchange:
        statistics = exchange.order_statistics(account, date)
    rows = [_statistics_row(line) for line in statistics.symbols]
    rows.append(_statistics_row(statistics.total, "TOTAL"))
    document = Report(
        f"Order statistics of {account} on {date}", date,
        [("account", account), ("day (UTC)", date)],
        [Section("Orders", ORDER_COLUMNS, rows)],
        integers=frozenset(
            name for name in ORDER_COLUMNS if name.endswith(("_count", "_quantity", "_micros"))
        ),
        notes=[
            "Slippage in basis points, positive when worse than the benchmark: the arrival "
            "price (the mid when the order was accepted) and the interval VWAP "
            "(docs/compliance.md)."
        ],
    )  # fmt: skip
    deliver(document, output, out)


@report.command("market")
@date_option
@click.option("--symbol", default="", help="Only this instrument.")
@format_option
@out_option
@target_option
@tls_options
def market_statistics(
    date: str, symbol: str, output: str | None, out: str, target: str, tls: ClientTls
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
    document = Report(
        f"Market statistics of {date}", date, [("day (UTC)", date), ("symbol", symbol or "all")],
        [Section("Symbols", MARKET_COLUMNS, rows)],
        integers=frozenset({"trade_count", "volume"}),
        charts=[_volume_and_vwap(statistics)] if rows else [],
    )  # fmt: skip
    deliver(document, output, out)


def _statistics_row(line: analytics_pb2.OrderStatistics, symbol: str = "") -> list[str]:
    return [
        symbol or line.symbol, str(line.order_count), str(line.rejected_count),
        str(line.filled_count), str(line.canceled_count), str(line.ordered_quantity),
        str(line.filled_quantity), str(line.fill_count), line.fill_ratio,
        line.order_to_trade_ratio, line.cancel_rate, str(line.average_fill_micros),
        line.arrival_slippage_bps, line.vwap_slippage_bps, str(line.arrival_priced_quantity),
    ]  # fmt: skip


def _summary_row(line: analytics_pb2.TradeReportSummary) -> list[str]:
    return [
        line.symbol, str(line.fill_count), str(line.bought_quantity), str(line.sold_quantity),
        line.bought_notional, line.sold_notional, format_price(line.average_buy_price),
        format_price(line.average_sell_price),
    ]  # fmt: skip


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
