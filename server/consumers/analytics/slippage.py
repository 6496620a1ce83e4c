"""Slippage of an account's orders: what their fills cost against the price
the market showed when each order arrived, and against the market's VWAP
while each order was being filled.

Definitions (the contract's ``OrderStatistics`` and docs/compliance.md say
the same):

- An order's **arrival price** is the mid of its symbol's best bid and best
  offer just before the engine applied the command that accepted it (the
  ``quotes`` facts); when only one side had orders, that side's best price
  (for a buy arriving to offers only, the far touch it would pay); when the
  book was empty, none, and the order is left out of the arrival figure.
- Its **interval VWAP** is the VWAP of every trade of its symbol from the
  command that accepted it to the command of its last fill, both included
  (its own fills among them).
- **Slippage** is what the fills paid beyond the benchmark, in basis points
  of the benchmark's value of the same shares, positive when the order did
  worse (bought dearer, sold cheaper): over a set of orders,
  ``sum(sign * (notional - benchmark * shares)) / sum(benchmark * shares)``
  times 10,000, with ``sign`` +1 for a buy and -1 for a sell, weighting each
  order by its filled shares. Only filled shares count.

Sums are exact fractions (a mid is a half unit, a VWAP any rational), and
the one rounding is the result's: 4 decimal places, ties to even.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from fractions import Fraction

import duckdb
from stocktraderx.v1 import common_pb2, orders_pb2

_BUY = common_pb2.SIDE_BUY
_QUERY = f"""
WITH entered AS (
    SELECT order_id, any_value(symbol) AS symbol, any_value(side) AS side,
           min(sequence) AS arrival
    FROM order_events
    WHERE account_id = $account AND day = $day AND exec_type = {orders_pb2.EXEC_TYPE_NEW}
    GROUP BY order_id),
filled AS (
    SELECT e.order_id, sum(e.last_quantity) AS quantity,
           sum(e.last_quantity::HUGEINT * e.last_price) AS notional,
           max(e.sequence) AS last_fill
    FROM executions e JOIN entered USING (order_id)
    WHERE e.account_id = $account
    GROUP BY e.order_id),
cumulative AS (
    SELECT symbol, sequence,
           sum(volume) OVER (PARTITION BY symbol ORDER BY sequence) AS volume,
           sum(traded) OVER (PARTITION BY symbol ORDER BY sequence) AS traded
    FROM (SELECT symbol, sequence, sum(quantity) AS volume,
                 sum(quantity::HUGEINT * price) AS traded
          FROM trades WHERE symbol IN (SELECT DISTINCT symbol FROM entered)
          GROUP BY symbol, sequence)),
market AS (
    SELECT f.order_id, upto.volume - coalesce(before.volume, 0) AS volume,
           upto.traded - coalesce(before.traded, 0) AS traded
    FROM filled f JOIN entered n USING (order_id)
    ASOF JOIN cumulative upto ON upto.symbol = n.symbol AND upto.sequence <= f.last_fill
    ASOF LEFT JOIN cumulative before
        ON before.symbol = n.symbol AND before.sequence < n.arrival)
SELECT n.symbol, n.side, f.quantity, f.notional, coalesce(q.bid_price, 0),
       coalesce(q.ask_price, 0),
       m.volume, m.traded
FROM entered n JOIN filled f USING (order_id) JOIN market m USING (order_id)
LEFT JOIN quotes q ON q.sequence = n.arrival
"""


# The market's trades during each order (the interval VWAP) are the
# difference of two running totals per symbol, each found by an ASOF join:
# the totals up to the last fill less those before the arrival. Joining
# each order to every trade in its interval instead took 3.3 s of CPU for
# one account's 12,854 filled orders on a 9.2-million-event day, against
# 0.85-1.17 s now, the same rows (docs/performance.md, "Analytics store").


@dataclass
class Slippage:
    """Slippage sums over a set of orders (see the module's definitions)."""

    arrival_cost: Fraction = Fraction(0)
    arrival_value: Fraction = Fraction(0)
    arrival_quantity: int = 0
    """Filled shares of the orders that had an arrival price."""
    vwap_cost: Fraction = Fraction(0)
    vwap_value: Fraction = Fraction(0)

    def add(self, other: Slippage) -> None:
        self.arrival_cost += other.arrival_cost
        self.arrival_value += other.arrival_value
        self.arrival_quantity += other.arrival_quantity
        self.vwap_cost += other.vwap_cost
        self.vwap_value += other.vwap_value

    def arrival_bps(self) -> str:
        return basis_points(self.arrival_cost, self.arrival_value)

    def vwap_bps(self) -> str:
        return basis_points(self.vwap_cost, self.vwap_value)


def basis_points(cost: Fraction, value: Fraction) -> str:
    """``cost / value`` in basis points, 4 decimal places, ties to even; ""
    when there is no value to compare with."""
    if not value:
        return ""
    units = cost / value * 10**8
    quotient, remainder = divmod(units.numerator, units.denominator)
    twice = 2 * remainder
    if twice > units.denominator or (twice == units.denominator and quotient % 2):
        quotient += 1
    sign = "-" if quotient < 0 else ""
    whole, fraction = divmod(abs(quotient), 10_000)
    return f"{sign}{whole}.{fraction:04d}"


def order_slippage(
    reader: duckdb.DuckDBPyConnection, account: str, day: datetime.date
) -> dict[str, Slippage]:
    """Per symbol, the slippage of the orders ``account`` entered on ``day``
    (their fills whenever they came)."""
    per_symbol: dict[str, Slippage] = {}
    rows = reader.execute(_QUERY, {"account": account, "day": day}).fetchall()
    for symbol, side, quantity, notional, bid, ask, volume, traded in rows:
        slippage = per_symbol.setdefault(symbol, Slippage())
        sign = 1 if side == _BUY else -1
        arrival = Fraction(bid + ask, 2) if bid and ask else Fraction(bid or ask)
        if arrival:
            slippage.arrival_cost += sign * (int(notional) - arrival * quantity)
            slippage.arrival_value += arrival * quantity
            slippage.arrival_quantity += int(quantity)
        vwap = Fraction(int(traded), int(volume))
        slippage.vwap_cost += sign * (int(notional) - vwap * quantity)
        slippage.vwap_value += vwap * quantity
    return per_symbol
