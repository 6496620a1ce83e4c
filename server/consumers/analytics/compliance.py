"""The compliance reports over the analytical store: MiFID II RTS 22-style
transaction reports, RTS 25-style clock facts and RTS 27-style execution
quality (docs/compliance.md documents each field). The order-event trail is
``reports.order_events``; the surveillance alerts come from the risk
service's own ``ListAlerts`` (the store holds no alerts).

Like ``reports.py``: integers all the way, averages rounded once (ties to
even), ratios as 4-place decimal strings.
"""

from __future__ import annotations

import datetime

import duckdb
from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import analytics_pb2 as pb
from stocktraderx.v1 import common_pb2, orders_pb2

from server.consumers.analytics.reports import decimal_text, divide_half_even, ratio_text

CLOCK_SOURCE = (
    "the host's system clock (CLOCK_REALTIME, nanoseconds), read by the core's sequencer "
    "for every command and never let go backwards; its offset from UTC is the host's "
    "NTP or PTP discipline, which the exchange does not measure"
)
_NEW = orders_pb2.EXEC_TYPE_NEW
_FILLED = orders_pb2.ORDER_STATUS_FILLED
_ENDED_UNFILLED = (orders_pb2.ORDER_STATUS_CANCELED, orders_pb2.ORDER_STATUS_EXPIRED)
_BUY = common_pb2.SIDE_BUY


def _timestamp(nanos: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(nanos)
    return stamp


_TRANSACTIONS = f"""
SELECT e.sequence, e.event_index, e.trade_id, e.transact_time, e.symbol, e.side, e.account_id,
       CASE WHEN e.side = {_BUY} THEN t.sell_account_id ELSE t.buy_account_id END,
       coalesce(n.user_id, ''), e.order_id, e.client_order_id, e.last_price,
       e.last_quantity, e.liquidity
FROM executions e
JOIN trades t ON t.trade_id = e.trade_id
LEFT JOIN (SELECT order_id, any_value(user_id) AS user_id FROM order_events
           WHERE exec_type = {_NEW}
             AND order_id IN (SELECT order_id FROM executions WHERE day = $day)
           GROUP BY order_id) n ON n.order_id = e.order_id
WHERE e.day = $day{{only}} AND (e.sequence, e.event_index) > ($sequence, $index)
ORDER BY e.sequence, e.event_index
LIMIT $limit
"""


def transaction_reports(
    reader: duckdb.DuckDBPyConnection,
    day: datetime.date,
    account: str,
    page_size: int,
    after: tuple[int, int],
) -> pb.ListTransactionReportsResponse:
    """One report per fill of ``day`` (of ``account`` if given) after the
    fill ``after`` (sequence, index), in the engine's order."""
    only = " AND e.account_id = $account" if account else ""
    parameters: dict[str, object] = {
        "day": day, "sequence": after[0], "index": after[1], "limit": page_size + 1,
    }  # fmt: skip
    if account:
        parameters["account"] = account
    rows = reader.execute(_TRANSACTIONS.format(only=only), parameters).fetchall()
    response = pb.ListTransactionReportsResponse()
    for row in rows[:page_size]:
        (_, _, trade_id, when, symbol, side, owner, counterparty, user, order_id, client_id,
         price, quantity, liquidity) = row  # fmt: skip
        response.reports.append(
            pb.TransactionReport(
                transaction_reference=f"{trade_id}-{'B' if side == _BUY else 'S'}",
                venue_transaction_id=trade_id, execution_time=_timestamp(when), symbol=symbol,
                side=side, account_id=owner, counterparty_account_id=counterparty,
                decision_user_id=user, order_id=order_id, client_order_id=client_id,
                price=price, quantity=quantity, notional=decimal_text(price * quantity),
                liquidity=liquidity, sequence=row[0],
            )
        )  # fmt: skip
    if len(rows) > page_size:
        last = rows[page_size - 1]
        response.next_page_token = f"{last[0]}-{last[1]}"
    return response


_CLOCK = """
WITH stamps AS (
    SELECT sequence, transact_time AS stamp FROM order_events WHERE day = $day
    UNION ALL SELECT sequence, trade_time FROM trades WHERE day = $day
    UNION ALL SELECT sequence, quote_time FROM quotes WHERE day = $day),
steps AS (
    SELECT sequence, stamp, stamp - lag(stamp) OVER (ORDER BY sequence) AS step
    FROM (SELECT sequence, min(stamp) AS stamp FROM stamps GROUP BY sequence))
SELECT count(*), min(sequence), max(sequence), arg_min(stamp, sequence),
       arg_max(stamp, sequence),
       count(*) FILTER (WHERE step < 0), coalesce(-min(step) FILTER (WHERE step < 0), 0),
       count(*) FILTER (WHERE step = 0), coalesce(min(step) FILTER (WHERE step > 0), 0),
       coalesce(max(step), 0)
FROM steps
"""


def clock_synchronisation(
    reader: duckdb.DuckDBPyConnection, day: datetime.date
) -> pb.GetClockSynchronisationResponse:
    """What the store's facts of ``day`` show of the business clock. Every
    fact of one command carries that command's time, so a command is one
    step; steps are taken in engine sequence order. (The facts are taken
    with UNION ALL: the minimum per command is the same without removing
    duplicates first, and a day of 10 million facts is not hashed twice.)"""
    row = reader.execute(_CLOCK, {"day": day}).fetchone()
    assert row is not None  # an aggregate always answers
    count, first, last, first_time, last_time, back, largest_back, equal, finest, largest = row
    response = pb.GetClockSynchronisationResponse(
        date=day.isoformat(), clock_source=CLOCK_SOURCE, recorded_resolution_nanos=1,
        reported_resolution_nanos=1_000, command_count=count,
    )  # fmt: skip
    if count:
        response.first_sequence, response.last_sequence = first, last
        response.first_time.CopyFrom(_timestamp(first_time))
        response.last_time.CopyFrom(_timestamp(last_time))
        response.steps_back, response.largest_step_back_nanos = back, largest_back
        response.equal_steps, response.finest_step_nanos = equal, finest
        response.largest_step_nanos = largest
    return response


_ORDERS = f"""
WITH entered AS (
    SELECT order_id, min(transact_time) AS entry_time FROM order_events
    WHERE day = $day AND exec_type = {_NEW}{{only}} GROUP BY order_id),
orders AS (
    SELECT any_value(e.symbol) AS symbol, arg_max(e.quantity, e.report_sequence) AS quantity,
           max(e.cum_quantity) AS filled, arg_max(e.order_status, e.report_sequence) AS status,
           min(e.transact_time) FILTER (WHERE e.order_status = {_FILLED})
               - any_value(entered.entry_time) AS fill_time
    FROM order_events e JOIN entered USING (order_id) GROUP BY e.order_id)
SELECT symbol, count(*), sum(quantity), sum(filled),
       count(*) FILTER (WHERE status = {_FILLED}),
       count(*) FILTER (WHERE status IN {_ENDED_UNFILLED}),
       coalesce(sum(fill_time) FILTER (WHERE status = {_FILLED}), 0)
FROM orders GROUP BY symbol
"""
_REJECTED = f"""
SELECT symbol, count(*) FROM order_events
WHERE day = $day AND exec_type = {orders_pb2.EXEC_TYPE_REJECTED}{{only}} GROUP BY symbol
"""
_TRADES = """
SELECT symbol, count(*), sum(quantity), sum(quantity::HUGEINT * price)
FROM trades WHERE day = $day{only} GROUP BY symbol
"""
_QUOTES = """
SELECT symbol, count(*), sum(ask_price - bid_price), sum(ask_price::HUGEINT + bid_price),
       sum(bid_quantity), sum(ask_quantity)
FROM quotes WHERE day = $day AND bid_price > 0 AND ask_price > 0{only} GROUP BY symbol
"""


def execution_quality(
    reader: duckdb.DuckDBPyConnection, day: datetime.date, symbol: str
) -> pb.GetExecutionQualityResponse:
    """Every instrument's (or one instrument's) execution quality on ``day``."""
    parameters: dict[str, object] = {"day": day}
    only = ""
    if symbol:
        parameters["symbol"] = symbol
        only = " AND symbol = $symbol"

    def per_symbol(query: str) -> dict[str, tuple[int, ...]]:
        rows = reader.execute(query.format(only=only), parameters).fetchall()
        return {row[0]: tuple(int(value) for value in row[1:]) for row in rows}

    orders, rejected = per_symbol(_ORDERS), per_symbol(_REJECTED)
    trades, quotes = per_symbol(_TRADES), per_symbol(_QUOTES)
    response = pb.GetExecutionQualityResponse(date=day.isoformat())
    for name in sorted(orders.keys() | rejected.keys() | trades.keys()):
        count, ordered, filled, filled_orders, canceled, fill_nanos = orders.get(name, (0,) * 6)
        trade_count, volume, notional = trades.get(name, (0, 0, 0))
        arrivals, spreads, mids_twice, bid_sizes, ask_sizes = quotes.get(name, (0,) * 5)
        response.symbols.append(
            pb.ExecutionQuality(
                symbol=name, trade_count=trade_count, volume=volume,
                notional=decimal_text(notional),
                vwap=divide_half_even(notional, volume) if volume else 0,
                average_trade_size=ratio_text(volume, trade_count),
                order_count=count, average_order_size=ratio_text(ordered, count),
                rejected_count=rejected.get(name, (0,))[0], filled_count=filled_orders,
                canceled_count=canceled, fill_ratio=ratio_text(filled, ordered),
                execution_likelihood=ratio_text(filled_orders, count),
                cancel_ratio=ratio_text(canceled, count),
                average_fill_micros=(
                    divide_half_even(fill_nanos, filled_orders * 1_000) if filled_orders else 0
                ),
                two_sided_arrivals=arrivals,
                average_spread=divide_half_even(spreads, arrivals) if arrivals else 0,
                # spread / mid = 2 x spread / (bid + ask), in basis points
                average_spread_bps=ratio_text(2 * spreads * 10_000, mids_twice),
                average_bid_quantity=ratio_text(bid_sizes, arrivals),
                average_ask_quantity=ratio_text(ask_sizes, arrivals),
            )
        )  # fmt: skip
    return response
