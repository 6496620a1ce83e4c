"""The reports, computed from the analytical store's facts.

Each function takes a reader of the store and already checked arguments, and
returns the contract's response. Money stays integer (10^-4 units) all the
way: sums in DuckDB's 128-bit integers, averages rounded to the nearest unit
with ties to even (docs/api.md), ratios as decimal strings. Profit and loss
is booked by average cost with the engine's own ``Holding``, so a statement
agrees with the account's ledger (``GetAccount``) to the unit.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb
from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import analytics_pb2 as pb
from stocktraderx.v1 import common_pb2, orders_pb2

from matching.ledger import Holding
from server.consumers.analytics.slippage import Slippage, order_slippage

BUY = common_pb2.SIDE_BUY
_FILLS = (orders_pb2.EXEC_TYPE_PARTIAL_FILL, orders_pb2.EXEC_TYPE_FILL)
_ENDED_UNFILLED = (orders_pb2.ORDER_STATUS_CANCELED, orders_pb2.ORDER_STATUS_EXPIRED)
PLACES = 4
"""Decimal places of the contract's money and of the ratios."""


def divide_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, ties to even."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def decimal_text(units: int, places: int = PLACES) -> str:
    """An integer count of 10^-places units as a decimal string: 12345 -> "1.2345"."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


def ratio_text(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` to 4 places, ties to even; "" if undefined."""
    if not denominator:
        return ""
    return decimal_text(divide_half_even(numerator * 10**PLACES, denominator))


def _timestamp(nanos: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(nanos)
    return stamp


def trade_report(
    reader: duckdb.DuckDBPyConnection,
    account: str,
    day: datetime.date,
    symbol: str,
    page_size: int,
    after: int,
) -> pb.GetTradeReportResponse:
    """The account's fills of ``day`` after report sequence ``after``, at
    most ``page_size``; the day's totals per symbol."""
    only = " AND symbol = $symbol" if symbol else ""
    parameters: dict[str, object] = {"account": account, "day": day}
    if symbol:
        parameters["symbol"] = symbol
    rows = reader.execute(
        "SELECT trade_id, transact_time, symbol, side, last_price, last_quantity, order_id, "
        "client_order_id, liquidity, report_sequence FROM executions "
        f"WHERE account_id = $account AND day = $day{only} AND report_sequence > $after "
        "ORDER BY report_sequence LIMIT $limit",
        {**parameters, "after": after, "limit": page_size + 1},
    ).fetchall()
    response = pb.GetTradeReportResponse(account_id=account, date=day.isoformat())
    for row in rows[:page_size]:
        trade_id, when, name, side, price, quantity, order_id, client_id, liquidity, number = row
        response.fills.append(
            pb.TradeReportFill(
                trade_id=trade_id, transact_time=_timestamp(when), symbol=name, side=side,
                price=price, quantity=quantity, notional=decimal_text(price * quantity),
                order_id=order_id, client_order_id=client_id, liquidity=liquidity,
                report_sequence=number,
            )
        )  # fmt: skip
    if len(rows) > page_size:
        response.next_page_token = str(response.fills[-1].report_sequence)
    totals = reader.execute(
        f"SELECT symbol, count(*), "
        f"sum(CASE WHEN side = {BUY} THEN last_quantity ELSE 0 END), "
        f"sum(CASE WHEN side = {BUY} THEN 0 ELSE last_quantity END), "
        f"sum(CASE WHEN side = {BUY} THEN last_quantity::HUGEINT * last_price ELSE 0 END), "
        f"sum(CASE WHEN side = {BUY} THEN 0 ELSE last_quantity::HUGEINT * last_price END) "
        f"FROM executions WHERE account_id = $account AND day = $day{only} "
        "GROUP BY symbol ORDER BY symbol",
        parameters,
    ).fetchall()
    for name, count, bought, sold, paid, received in totals:
        response.summaries.append(
            pb.TradeReportSummary(
                symbol=name, fill_count=count, bought_quantity=bought, sold_quantity=sold,
                bought_notional=decimal_text(int(paid)), sold_notional=decimal_text(int(received)),
                average_buy_price=divide_half_even(int(paid), bought) if bought else 0,
                average_sell_price=divide_half_even(int(received), sold) if sold else 0,
            )
        )  # fmt: skip
    return response


@dataclass
class _Day:
    """One symbol's holding as the day opened, and what the day traded."""

    opening_quantity: int = 0
    opening_realized: int = 0
    bought: int = 0
    sold: int = 0
    fees: int = 0


def profit_and_loss(
    reader: duckdb.DuckDBPyConnection, account: str, day: datetime.date, fee_bps: int = 0
) -> pb.GetProfitAndLossResponse:
    """The account's P&L statement of ``day``: every fill up to the day's
    end booked by average cost, positions valued at the day's closing price,
    the day's fills charged ``fee_bps`` basis points of their notional."""
    fills = reader.execute(
        "SELECT symbol, side, last_quantity, last_price, day, transact_time FROM executions "
        "WHERE account_id = $account AND day <= $day ORDER BY sequence, report_sequence",
        {"account": account, "day": day},
    ).fetchall()
    holdings: dict[str, Holding] = defaultdict(Holding)
    today: dict[str, _Day] = {}
    timeline = _Timeline()
    for symbol, side, quantity, price, when, moment in fills:
        holding = holdings[symbol]
        if when == day:
            if not today:
                timeline.open(holdings, _closing_prices(reader, list(holdings), day - _ONE_DAY))
            traded = today.get(symbol)
            if traded is None:
                traded = today[symbol] = _Day(holding.quantity, holding.realized)
            if side == BUY:
                traded.bought += quantity
            else:
                traded.sold += quantity
            traded.fees += divide_half_even(quantity * price * fee_bps, 10_000)
        holding.trade(side == BUY, quantity, price)
        if when == day:
            timeline.fill(moment, symbol, holding, price)
    shown = sorted(
        symbol for symbol, holding in holdings.items() if holding.quantity or symbol in today
    )
    closes = _closing_prices(reader, shown, day)
    response = pb.GetProfitAndLossResponse(account_id=account, date=day.isoformat())
    for symbol in shown:
        holding = holdings[symbol]
        traded = today.get(symbol) or _Day(holding.quantity, holding.realized)
        close = closes.get(symbol, 0)
        position = pb.PositionProfitAndLoss(
            symbol=symbol,
            opening_quantity=traded.opening_quantity,
            bought_quantity=traded.bought,
            sold_quantity=traded.sold,
            closing_quantity=holding.quantity,
            average_cost=holding.average_cost,
            closing_price=close,
            realized_pnl=holding.realized - traded.opening_realized,
            unrealized_pnl=holding.unrealized(close),
            fees=traded.fees,
        )
        response.positions.append(position)
        response.realized_pnl += position.realized_pnl
        response.unrealized_pnl += position.unrealized_pnl
        response.fees += position.fees
    response.total_pnl = response.realized_pnl + response.unrealized_pnl
    response.net_pnl = response.total_pnl - response.fees
    response.timeline.extend(timeline.points)
    return response


_ONE_DAY = datetime.timedelta(days=1)


class _Timeline:
    """The P&L after each of the day's fills: realized since the day opened,
    unrealized of every position at its symbol's latest mark (the account's
    own latest fill, else the close of the days before), kept as running
    sums so each fill costs one symbol's update."""

    def __init__(self) -> None:
        self.points: list[pb.ProfitAndLossPoint] = []
        self._realized_at_open = 0
        self._realized = 0
        self._realized_symbol: dict[str, int] = {}
        self._unrealized: dict[str, int] = {}
        self._unrealized_total = 0

    def open(self, holdings: dict[str, Holding], closes: dict[str, int]) -> None:
        """The positions the day opened with, marked at the closes before it."""
        self._realized_symbol = {symbol: h.realized for symbol, h in holdings.items()}
        self._realized_at_open = self._realized = sum(self._realized_symbol.values())
        for symbol, holding in holdings.items():
            self._unrealized[symbol] = holding.unrealized(closes.get(symbol, 0))
        self._unrealized_total = sum(self._unrealized.values())

    def fill(self, nanos: int, symbol: str, holding: Holding, price: int) -> None:
        """After a fill of ``holding`` at ``price``: the next point."""
        before = self._realized_symbol.get(symbol, 0)
        self._realized_symbol[symbol] = holding.realized
        self._realized += holding.realized - before
        value = holding.unrealized(price)
        self._unrealized_total += value - self._unrealized.get(symbol, 0)
        self._unrealized[symbol] = value
        point = pb.ProfitAndLossPoint(
            realized_pnl=self._realized - self._realized_at_open,
            unrealized_pnl=self._unrealized_total,
        )
        point.time.FromNanoseconds(nanos)
        self.points.append(point)


def _closing_prices(
    reader: duckdb.DuckDBPyConnection, symbols: list[str], day: datetime.date
) -> dict[str, int]:
    """Each symbol's last trade price at or before the end of ``day``."""
    if not symbols:
        return {}
    rows = reader.execute(
        "SELECT symbol, arg_max(price, trade_id) FROM trades "
        "WHERE day <= $day AND symbol IN (SELECT unnest($symbols)) GROUP BY symbol",
        {"day": day, "symbols": symbols},
    ).fetchall()
    return {str(symbol): int(price) for symbol, price in rows}


def order_statistics(
    reader: duckdb.DuckDBPyConnection, account: str, day: datetime.date
) -> pb.GetOrderStatisticsResponse:
    """Statistics of the orders the account entered on ``day``, followed to
    their end whenever it came."""
    parameters = {"account": account, "day": day}
    orders = reader.execute(
        "WITH entered AS (SELECT order_id, min(transact_time) AS entry_time FROM order_events "
        f"WHERE account_id = $account AND day = $day AND exec_type = {orders_pb2.EXEC_TYPE_NEW} "
        "GROUP BY order_id) "
        "SELECT any_value(e.symbol), arg_max(e.quantity, e.report_sequence), "
        "max(e.cum_quantity), arg_max(e.order_status, e.report_sequence), "
        f"count(*) FILTER (WHERE e.exec_type IN {_FILLS}), "
        f"min(e.transact_time) FILTER (WHERE e.order_status = {orders_pb2.ORDER_STATUS_FILLED}) "
        "- any_value(entered.entry_time) "
        "FROM order_events e JOIN entered USING (order_id) WHERE e.account_id = $account "
        "GROUP BY e.order_id",
        parameters,
    ).fetchall()
    rejected = reader.execute(
        "SELECT symbol, count(*) FROM order_events WHERE account_id = $account AND day = $day "
        f"AND exec_type = {orders_pb2.EXEC_TYPE_REJECTED} GROUP BY symbol",
        parameters,
    ).fetchall()
    per_symbol: dict[str, _Counts] = defaultdict(_Counts)
    total = _Counts()
    for symbol, quantity, filled, status, fills, fill_time in orders:
        for counts in (per_symbol[symbol], total):
            counts.orders += 1
            counts.ordered += quantity
            counts.filled += filled
            counts.fills += fills
            if status == orders_pb2.ORDER_STATUS_FILLED:
                counts.filled_orders += 1
                counts.fill_nanos += fill_time
            elif status in _ENDED_UNFILLED:
                counts.canceled += 1
    for symbol, count in rejected:
        per_symbol[symbol].rejected += count
        total.rejected += count
    for symbol, slippage in order_slippage(reader, account, day).items():
        per_symbol[symbol].slippage.add(slippage)
        total.slippage.add(slippage)
    response = pb.GetOrderStatisticsResponse(account_id=account, date=day.isoformat())
    for symbol in sorted(per_symbol):
        response.symbols.append(per_symbol[symbol].message(symbol))
    response.total.CopyFrom(total.message(""))
    return response


@dataclass
class _Counts:
    orders: int = 0
    rejected: int = 0
    filled_orders: int = 0
    canceled: int = 0
    ordered: int = 0
    filled: int = 0
    fills: int = 0
    fill_nanos: int = 0
    slippage: Slippage = field(default_factory=Slippage)

    def message(self, symbol: str) -> pb.OrderStatistics:
        average = (
            divide_half_even(self.fill_nanos, self.filled_orders * 1000)
            if self.filled_orders
            else 0
        )
        return pb.OrderStatistics(
            symbol=symbol, order_count=self.orders, rejected_count=self.rejected,
            filled_count=self.filled_orders, canceled_count=self.canceled,
            ordered_quantity=self.ordered, filled_quantity=self.filled, fill_count=self.fills,
            fill_ratio=ratio_text(self.filled, self.ordered),
            order_to_trade_ratio=ratio_text(self.orders, self.fills),
            cancel_rate=ratio_text(self.canceled, self.orders),
            average_fill_micros=average,
            arrival_slippage_bps=self.slippage.arrival_bps(),
            vwap_slippage_bps=self.slippage.vwap_bps(),
            arrival_priced_quantity=self.slippage.arrival_quantity,
        )  # fmt: skip


def market_statistics(
    reader: duckdb.DuckDBPyConnection, day: datetime.date, symbol: str
) -> pb.GetMarketStatisticsResponse:
    """Every symbol's (or one symbol's) trading on ``day``."""
    only = " AND symbol = $symbol" if symbol else ""
    parameters: dict[str, object] = {"day": day}
    if symbol:
        parameters["symbol"] = symbol
    rows = reader.execute(
        "SELECT symbol, count(*), sum(quantity), sum(quantity::HUGEINT * price), "
        "arg_min(price, trade_id), max(price), min(price), arg_max(price, trade_id) "
        f"FROM trades WHERE day = $day{only} GROUP BY symbol ORDER BY symbol",
        parameters,
    ).fetchall()
    response = pb.GetMarketStatisticsResponse(date=day.isoformat())
    for name, count, volume, notional, first, high, low, last in rows:
        response.symbols.append(
            pb.MarketStatistics(
                symbol=name, trade_count=count, volume=int(volume),
                notional=decimal_text(int(notional)),
                vwap=divide_half_even(int(notional), int(volume)),
                open_price=first, high_price=high, low_price=low, close_price=last,
            )
        )  # fmt: skip
    return response


_EVENT_COLUMNS = (
    "sequence", "event_index", "transact_time", "account_id", "report_sequence", "exec_type",
    "order_status", "order_id", "client_order_id", "client_request_id", "symbol", "side",
    "order_type", "time_in_force", "price", "stop_price", "quantity", "leaves_quantity",
    "cum_quantity", "last_price", "last_quantity", "trade_id", "reject_reason",
    "cancel_reason", "user_id", "source", "gateway",
)  # fmt: skip


def order_events(
    reader: duckdb.DuckDBPyConnection,
    day: datetime.date,
    account: str,
    page_size: int,
    after: tuple[int, int],
) -> pb.ListOrderEventsResponse:
    """Every order event of ``day`` (of ``account`` if given) after the event
    ``after`` (sequence, index), in the engine's order, at most ``page_size``."""
    only = " AND account_id = $account" if account else ""
    parameters: dict[str, object] = {
        "day": day, "sequence": after[0], "index": after[1], "limit": page_size + 1,
    }  # fmt: skip
    if account:
        parameters["account"] = account
    rows = reader.execute(
        f"SELECT {', '.join(_EVENT_COLUMNS)} FROM order_events WHERE day = $day{only} "
        "AND (sequence, event_index) > ($sequence, $index) "
        "ORDER BY sequence, event_index LIMIT $limit",
        parameters,
    ).fetchall()
    response = pb.ListOrderEventsResponse()
    for row in rows[:page_size]:
        values = dict(zip(_EVENT_COLUMNS, row, strict=True))
        event = pb.OrderEvent(
            event_time=_timestamp(values.pop("transact_time")),
            sender_user_id=values.pop("user_id"),
            sender_source=values.pop("source"),
            sender_gateway=values.pop("gateway"),
        )
        values.pop("event_index")
        for name, value in values.items():
            setattr(event, name, value)
        response.events.append(event)
    if len(rows) > page_size:
        last = rows[page_size - 1]
        response.next_page_token = f"{last[0]}-{last[1]}"
    return response
