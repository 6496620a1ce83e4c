"""``stx report compliance rts28``: the RTS 28-style execution-venue summary
of a range of days, per member account and class of instruments, as CSV,
Parquet or a PDF document (docs/compliance.md, column by column).

The venue's MIC comes from ``--venue`` as in ``rts22`` (the exchange has no
registered one); the percentage of directed orders is left empty: whether
the firm's client chose this venue is the firm's record, not the journal's.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from stocktraderx.v1 import analytics_pb2

from clients.compliance_report import format_option, out_option
from clients.connect import client, target_option
from clients.report_files import deliver
from clients.report_model import Chart, Report, Section, Series
from clients.transport import ClientTls, tls_options

VENUE_COLUMNS = (
    "account_id", "instrument_class", "below_one_trade_per_business_day", "venue_rank",
    "venue", "volume_percentage", "order_percentage", "passive_percentage",
    "aggressive_percentage", "directed_percentage", "trade_count", "execution_count",
    "order_count", "volume", "notional", "passive_count", "aggressive_count", "auction_count",
    "business_days",
)  # fmt: skip
_INTEGERS = frozenset(
    {
        "venue_rank", "trade_count", "execution_count", "order_count", "volume",
        "passive_count", "aggressive_count", "auction_count", "business_days",
    }
)  # fmt: skip


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


@click.command("rts28")
@click.option(
    "--from",
    "first",
    default=lambda: datetime.now(UTC).date().replace(month=1, day=1).isoformat(),
    show_default="1 January of this year (UTC)",
    help="The first UTC day, YYYY-MM-DD.",
)
@click.option("--to", "last", default=_today, show_default="today (UTC)",
              help="The last UTC day, YYYY-MM-DD (included; at most 366 days).")  # fmt: skip
@click.option("--account", default="", help="Only this account (default: every account).")
@click.option("--venue", default="", help="The venue's MIC to write (the exchange has none).")
@format_option
@out_option
@target_option
@tls_options
def venues(
    first: str,
    last: str,
    account: str,
    venue: str,
    output: str | None,
    out: str,
    target: str,
    tls: ClientTls,
) -> None:
    """RTS 28-style execution-venue summary: per account and class of
    instruments, its executions on this venue (passive, aggressive, the
    fewer-than-one-trade-per-business-day flag)."""
    with client(target, tls) as exchange:
        summary = exchange.execution_venue_summary(first, last, account)
    rows = [venue_row(line, venue) for line in summary.summaries]
    names = [line.account_id for line in summary.summaries]
    chart = Chart(
        "Passive and aggressive executions per account", "bar",
        [Series("passive (%)", names,
                [float(line.passive_percentage or 0) for line in summary.summaries])],
        "passive, % of executions",
        second=Series("aggressive (%)", names,
                      [float(line.aggressive_percentage or 0) for line in summary.summaries]),
        second_label="aggressive, % of executions",
    )  # fmt: skip
    parameters = [("from (UTC)", first), ("to (UTC)", last), ("venue", venue or "(none given)")]
    if account:
        parameters.append(("account", account))
    title = "Execution venues (RTS 28 style)"
    document = Report(
        f"{title}, {first} to {last}", last, parameters, [Section(title, VENUE_COLUMNS, rows)],
        integers=_INTEGERS, charts=[chart] if rows else [],
        notes=[
            "One venue, this exchange: it sees only its own executions, so each line holds "
            "100% of what it knows; a firm merges its other venues' lines itself.",
            "directed_percentage is empty: whether a client chose the venue is the firm's "
            "record, not the exchange's.",
            "Fields are documented in docs/compliance.md.",
        ],
    )  # fmt: skip
    deliver(document, output, out)


def venue_row(line: analytics_pb2.ExecutionVenueSummary, venue: str) -> list[str]:
    return [
        line.account_id, line.instrument_class,
        "Y" if line.below_one_trade_per_business_day else "N", "1", venue,
        line.volume_percentage, line.order_percentage, line.passive_percentage,
        line.aggressive_percentage, "", str(line.trade_count), str(line.execution_count),
        str(line.order_count), str(line.volume), line.notional, str(line.passive_count),
        str(line.aggressive_count), str(line.auction_count), str(line.business_days),
    ]  # fmt: skip
