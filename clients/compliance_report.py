"""``stx report compliance cat|rts22|rts25|rts27|alerts``: the compliance
files of a day (risk officers and administrators), each documented column by
column in docs/compliance.md, as CSV, Parquet or a PDF document.

All come from the API: the first four from ``AnalyticsService``, the alerts
from ``RiskService.ListAlerts`` over the day's hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click
from stocktraderx.v1 import analytics_pb2, common_pb2, orders_pb2, risk_pb2

from clients.connect import client, target_option
from clients.money import format_price
from clients.report_files import FORMATS, deliver, progress
from clients.report_model import Chart, Report, Section, Series
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
    type=click.Choice(FORMATS),
    default=None,
    show_default="from --out's suffix; else table on a terminal, csv elsewhere",
)
out_option = click.option(
    "--out", default="-", show_default="standard output", help="The file to write."
)
account_filter = click.option(
    "--account", default="", help="Only this account (default: every account)."
)

EVENT_COLUMNS = (
    "event_time", "sequence", "account_id", "report_sequence", "event", "order_status",
    "order_id", "client_order_id", "client_request_id", "symbol", "side", "order_type",
    "time_in_force", "price", "stop_price", "quantity", "leaves_quantity", "cum_quantity",
    "last_price", "last_quantity", "trade_id", "reject_reason", "cancel_reason",
    "sender_user_id", "sender_source", "sender_gateway",
)  # fmt: skip
TRANSACTION_COLUMNS = (
    "transaction_reference", "venue_transaction_id", "execution_time", "trading_venue",
    "instrument", "instrument_isin", "price", "price_currency", "quantity", "notional", "side",
    "account_id", "counterparty_account_id", "decision_user_id", "buyer_lei", "seller_lei",
    "executing_entity_lei", "order_id", "client_order_id", "liquidity", "sequence",
)  # fmt: skip
QUALITY_COLUMNS = (
    "symbol", "trade_count", "volume", "notional", "vwap", "average_trade_size", "order_count",
    "average_order_size", "rejected_count", "filled_count", "canceled_count", "fill_ratio",
    "execution_likelihood", "cancel_ratio", "average_fill_micros", "two_sided_arrivals",
    "average_spread", "average_spread_bps", "average_bid_quantity", "average_ask_quantity",
)  # fmt: skip
ALERT_COLUMNS = (
    "create_time", "alert_id", "kind", "severity", "account_id", "symbol", "description",
    "creator_user_id", "order_ids", "trade_ids", "evidence_start", "evidence_end", "details",
    "status", "reviewer_user_id", "review_time", "review_note", "review_count",
)  # fmt: skip
_INTEGERS = frozenset(
    {
        "sequence", "report_sequence", "order_id", "quantity", "leaves_quantity", "cum_quantity",
        "last_quantity", "trade_id", "venue_transaction_id", "trade_count", "volume",
        "order_count", "rejected_count", "filled_count", "canceled_count",
        "average_fill_micros", "two_sided_arrivals", "review_count",
    }
)  # fmt: skip


@click.group()
def compliance() -> None:
    """Compliance files (risk officers and administrators)."""


@compliance.command("cat")
@date_option
@account_filter
@format_option
@out_option
@target_option
@tls_options
def cat_trail(
    date: str, account: str, output: str | None, out: str, target: str, tls: ClientTls
) -> None:
    """The order-event audit trail of the day (CAT style): every lifecycle
    event of every order, with microsecond times and the sender the journal
    recorded."""
    rows: list[list[str]] = []
    with client(target, tls) as exchange, progress("order events") as advance:
        for page in exchange.order_events(date, account):
            rows.extend(event_row(event) for event in page.events)
            advance(len(page.events))
    _deliver("Order-event audit trail", date, account, EVENT_COLUMNS, rows, output, out)


@compliance.command("rts22")
@date_option
@account_filter
@click.option("--venue", default="", help="The venue's MIC to write (the exchange has none).")
@click.option("--currency", default="", help="The ISO 4217 code of the prices, e.g. USD.")
@format_option
@out_option
@target_option
@tls_options
def transactions(
    date: str,
    account: str,
    venue: str,
    currency: str,
    output: str | None,
    out: str,
    target: str,
    tls: ClientTls,
) -> None:
    """MiFID II RTS 22-style transaction reports: one row per execution per
    side."""
    rows: list[list[str]] = []
    with client(target, tls) as exchange, progress("transactions") as advance:
        for page in exchange.transaction_reports(date, account):
            rows.extend(transaction_row(item, venue, currency) for item in page.reports)
            advance(len(page.reports))
    _deliver("Transaction reports (RTS 22 style)", date, account, TRANSACTION_COLUMNS, rows,
             output, out)  # fmt: skip


@compliance.command("rts25")
@date_option
@format_option
@out_option
@target_option
@tls_options
def clock(date: str, output: str | None, out: str, target: str, tls: ClientTls) -> None:
    """RTS 25-style clock-synchronisation facts: what is configured and what
    the journal's times show."""
    with client(target, tls) as exchange:
        facts = exchange.clock_synchronisation(date)
    _deliver("Clock synchronisation (RTS 25 style)", date, "", ("fact", "value", "basis"),
             clock_rows(facts), output, out)  # fmt: skip


@compliance.command("rts27")
@date_option
@click.option("--symbol", default="", help="Only this instrument.")
@format_option
@out_option
@target_option
@tls_options
def quality(
    date: str, symbol: str, output: str | None, out: str, target: str, tls: ClientTls
) -> None:
    """RTS 27-style execution quality per instrument: volumes, orders and
    trades, spreads and sizes, speed and likelihood of execution."""
    with client(target, tls) as exchange:
        summary = exchange.execution_quality(date, symbol)
    rows = [quality_row(line) for line in summary.symbols]
    names = [line.symbol for line in summary.symbols]
    chart = Chart(
        "Volume and average quoted spread per symbol", "bar",
        [Series("volume (shares)", names, [float(line.volume) for line in summary.symbols])],
        "shares",
        second=Series("spread (bp)", names,
                      [float(line.average_spread_bps or 0) for line in summary.symbols]),
        second_label="basis points",
    )  # fmt: skip
    _deliver("Execution quality (RTS 27 style)", date, "", QUALITY_COLUMNS, rows, output, out,
             charts=[chart] if rows else [])  # fmt: skip


@compliance.command("alerts")
@date_option
@format_option
@out_option
@target_option
@tls_options
def alerts(date: str, output: str | None, out: str, target: str, tls: ClientTls) -> None:
    """Every surveillance alert raised on the day, oldest first, with its
    detector, evidence and resolution."""
    try:
        start = datetime.fromisoformat(date).replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(
            f"{date!r} is not a day (YYYY-MM-DD)", param_hint="--date"
        ) from None
    found: list[risk_pb2.Alert] = []
    with client(target, tls) as exchange, progress("alerts") as advance:
        for page in exchange.alerts(start, start + timedelta(days=1)):
            found.extend(page.alerts)
            advance(len(page.alerts))
    found.sort(key=lambda alert: (alert.create_time.ToNanoseconds(), alert.alert_id))
    _deliver("Surveillance alerts", date, "", ALERT_COLUMNS, [alert_row(a) for a in found],
             output, out,
             notes=["Status and review columns show each alert as it stands when the report "
                    "is made; its every review is in GetAlert and the auth log."])  # fmt: skip


def _deliver(
    title: str,
    date: str,
    account: str,
    columns: tuple[str, ...],
    rows: list[list[str]],
    output: str | None,
    out: str,
    charts: list[Chart] | None = None,
    notes: list[str] | None = None,
) -> None:
    parameters = [("day (UTC)", date)] + ([("account", account)] if account else [])
    document = Report(
        f"{title}, {date}", date, parameters, [Section(title, columns, rows)],
        integers=_INTEGERS & set(columns), charts=charts or [],
        notes=[*(notes or []), "Fields are documented in docs/compliance.md."],
    )  # fmt: skip
    deliver(document, output, out)


def _name(enum: Any, number: int, prefix: str) -> str:
    return str(enum.Name(number)).removeprefix(prefix) if number else ""


def _micros(stamp: Any) -> str:
    return str(stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def event_row(event: analytics_pb2.OrderEvent) -> list[str]:
    return [
        _micros(event.event_time), str(event.sequence), event.account_id,
        str(event.report_sequence), _name(orders_pb2.ExecType, event.exec_type, "EXEC_TYPE_"),
        _name(orders_pb2.OrderStatus, event.order_status, "ORDER_STATUS_"),
        str(event.order_id), event.client_order_id, event.client_request_id, event.symbol,
        _name(common_pb2.Side, event.side, "SIDE_"),
        _name(common_pb2.OrderType, event.order_type, "ORDER_TYPE_"),
        _name(common_pb2.TimeInForce, event.time_in_force, "TIME_IN_FORCE_"),
        format_price(event.price), format_price(event.stop_price), str(event.quantity),
        str(event.leaves_quantity), str(event.cum_quantity), format_price(event.last_price),
        str(event.last_quantity), str(event.trade_id),
        _name(common_pb2.RejectReason, event.reject_reason, "REJECT_REASON_"),
        _name(common_pb2.CancelReason, event.cancel_reason, "CANCEL_REASON_"),
        event.sender_user_id, event.sender_source, event.sender_gateway,
    ]  # fmt: skip


def transaction_row(item: analytics_pb2.TransactionReport, venue: str, currency: str) -> list[str]:
    return [
        item.transaction_reference, str(item.venue_transaction_id), _micros(item.execution_time),
        venue, item.symbol, "", format_price(item.price), currency, str(item.quantity),
        item.notional, _name(common_pb2.Side, item.side, "SIDE_"), item.account_id,
        item.counterparty_account_id, item.decision_user_id, "", "", "", str(item.order_id),
        item.client_order_id,
        _name(orders_pb2.LiquidityIndicator, item.liquidity, "LIQUIDITY_INDICATOR_"),
        str(item.sequence),
    ]  # fmt: skip


def clock_rows(facts: analytics_pb2.GetClockSynchronisationResponse) -> list[list[str]]:
    measured = "measured from the journal's times"
    rows = [
        ["clock_source", facts.clock_source, "configured (the host)"],
        ["recorded_resolution_nanos", str(facts.recorded_resolution_nanos), "configured"],
        ["reported_resolution_nanos", str(facts.reported_resolution_nanos), "configured"],
        ["command_count", str(facts.command_count), measured],
    ]
    if facts.command_count:
        rows += [
            ["first_sequence", str(facts.first_sequence), measured],
            ["last_sequence", str(facts.last_sequence), measured],
            ["first_time", _micros(facts.first_time), measured],
            ["last_time", _micros(facts.last_time), measured],
        ]
    rows += [
        ["steps_back", str(facts.steps_back), measured],
        ["largest_step_back_nanos", str(facts.largest_step_back_nanos), measured],
        ["equal_steps", str(facts.equal_steps), measured],
        ["finest_step_nanos", str(facts.finest_step_nanos), measured],
        ["largest_step_nanos", str(facts.largest_step_nanos), measured],
        [
            "gateway_to_core_skew",
            "",
            "not measurable: the gateway and the core read one clock (stx report latency)",
        ],
    ]
    return rows


def quality_row(line: analytics_pb2.ExecutionQuality) -> list[str]:
    return [
        line.symbol, str(line.trade_count), str(line.volume), line.notional,
        format_price(line.vwap), line.average_trade_size, str(line.order_count),
        line.average_order_size, str(line.rejected_count), str(line.filled_count),
        str(line.canceled_count), line.fill_ratio, line.execution_likelihood,
        line.cancel_ratio, str(line.average_fill_micros), str(line.two_sided_arrivals),
        format_price(line.average_spread), line.average_spread_bps,
        line.average_bid_quantity, line.average_ask_quantity,
    ]  # fmt: skip


def alert_row(alert: risk_pb2.Alert) -> list[str]:
    evidence = alert.evidence
    details = "; ".join(f"{key}={evidence.details[key]}" for key in sorted(evidence.details))
    return [
        _micros(alert.create_time), alert.alert_id,
        _name(risk_pb2.AlertKind, alert.kind, "ALERT_KIND_"),
        _name(risk_pb2.AlertSeverity, alert.severity, "ALERT_SEVERITY_"),
        alert.account_id, alert.symbol, alert.description, alert.creator_user_id,
        " ".join(str(order) for order in evidence.order_ids),
        " ".join(str(trade) for trade in evidence.trade_ids),
        _micros(evidence.start_time) if evidence.HasField("start_time") else "",
        _micros(evidence.end_time) if evidence.HasField("end_time") else "",
        details,
        _name(risk_pb2.AlertStatus, alert.status, "ALERT_STATUS_"), alert.reviewer_user_id,
        _micros(alert.review_time) if alert.HasField("review_time") else "",
        alert.review_note, str(alert.review_count),
    ]  # fmt: skip
