"""The RTS 28-style execution-venue summary: what a member firm would file
about its executions on this venue, per account and class of instruments,
over a range of days (docs/compliance.md documents each field).

RTS 28 asks a firm for its top five venues per class of instruments. The
exchange is one venue and sees only what was executed on it, so each
account's line names one venue holding 100% of what the exchange knows;
the firm merges the lines of its other venues itself. Whether an order was
directed to this venue by the firm's client is not in the journal: the
files leave that field empty for the firm to fill.

Passive and aggressive are counted per execution from the trade's
aggressor side (the order that arrived and took liquidity). RTS 28 speaks
of orders, but one order can do both (a limit order that takes part of the
book, then rests and is filled later), so counting its executions is the
one split that always adds up; an auction's executions are neither.
"""

from __future__ import annotations

import datetime

import duckdb
from stocktraderx.v1 import analytics_pb2 as pb

from server.consumers.analytics.reports import decimal_text, ratio_text

INSTRUMENT_CLASS = "Equities - Shares & Depositary Receipts"
"""RTS 28 Annex I's class (a). The reference data has no class of
instrument (every instrument is a share traded in shares), so every
instrument is in this one class; RTS 28 would split it further by tick size
liquidity band, which the reference data does not hold either."""
_ALL = "100.0000"

_SUMMARY = """
SELECT e.account_id, count(DISTINCT e.trade_id), count(*), count(DISTINCT e.order_id),
       sum(e.last_quantity), sum(e.last_quantity::HUGEINT * e.last_price),
       count(*) FILTER (WHERE t.aggressor_side <> 0 AND t.aggressor_side <> e.side),
       count(*) FILTER (WHERE t.aggressor_side = e.side),
       count(*) FILTER (WHERE t.aggressor_side = 0)
FROM executions e JOIN trades t ON t.trade_id = e.trade_id
WHERE e.day BETWEEN $first AND $last{only}
GROUP BY e.account_id ORDER BY e.account_id
"""


def business_days(first: datetime.date, last: datetime.date) -> int:
    """Mondays to Fridays from ``first`` to ``last``, both included. The
    exchange keeps no holiday calendar, so a holiday counts as a business day."""
    days = (last - first).days + 1
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    start = first.weekday()  # Monday is 0
    return weeks * 5 + sum(1 for offset in range(rest) if (start + offset) % 7 < 5)


def execution_venue_summary(
    reader: duckdb.DuckDBPyConnection, first: datetime.date, last: datetime.date, account: str
) -> pb.GetExecutionVenueSummaryResponse:
    """Every account's (or one account's) line from ``first`` to ``last``."""
    parameters: dict[str, object] = {"first": first, "last": last}
    only = ""
    if account:
        parameters["account"] = account
        only = " AND e.account_id = $account"
    rows = reader.execute(_SUMMARY.format(only=only), parameters).fetchall()
    open_days = business_days(first, last)
    response = pb.GetExecutionVenueSummaryResponse(
        from_date=first.isoformat(), to_date=last.isoformat()
    )
    for owner, trades, executions, orders, volume, notional, passive, aggressive, auction in rows:
        response.summaries.append(
            pb.ExecutionVenueSummary(
                account_id=owner, instrument_class=INSTRUMENT_CLASS, trade_count=trades,
                execution_count=executions, order_count=orders, volume=int(volume),
                notional=decimal_text(int(notional)), passive_count=passive,
                aggressive_count=aggressive, auction_count=auction,
                passive_percentage=ratio_text(passive * 100, executions),
                aggressive_percentage=ratio_text(aggressive * 100, executions),
                volume_percentage=_ALL, order_percentage=_ALL, business_days=open_days,
                below_one_trade_per_business_day=trades < open_days,
            )
        )  # fmt: skip
    return response
