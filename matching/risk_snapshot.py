"""The accounts' ledgers as plain data and back, and their self-checks.

The ledger keeps running totals (cash reserved, open quantities, open order
counts) for speed; ``check_risk_invariants`` recomputes each of them from the
engine's open orders, so a test that checks invariants after every command
catches any event the ledger followed wrongly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matching.enums import Side
from matching.ledger import AccountLedger, Holding
from matching.risk import RiskBook
from matching.risk_limits import RiskLimits
from matching.state_errors import InvariantError

if TYPE_CHECKING:
    from matching.engine_view import EngineView


def _limits(limits: RiskLimits | None) -> list[Any] | None:
    return None if limits is None else list(limits)


def risk_snapshot(risk: RiskBook) -> dict[str, Any]:
    return {
        "enforced": risk.enforced,
        "default_limits": list(risk.default_limits),
        "open": sorted(
            [order.order_id, order.reserve]
            for orders in (risk.orders.orders(), risk.stops.values())
            for order in orders
        ),
        "accounts": {
            name: [
                ledger.cash,
                ledger.reserved,
                ledger.open_orders,
                _limits(ledger.limits),
                ledger.killed,
                ledger.kill_reason,
                ledger.window,
                ledger.messages,
                ledger.updated,
                {
                    symbol: [
                        holding.quantity,
                        holding.cost,
                        holding.realized,
                        holding.open_buy,
                        holding.open_sell,
                    ]
                    for symbol, holding in sorted(ledger.holdings.items())
                },
            ]
            for name, ledger in sorted(risk.accounts.items())
        },
    }


def restore_risk(risk: RiskBook, data: dict[str, Any]) -> None:
    risk.enforced = data["enforced"]
    risk.default_limits = RiskLimits(*data["default_limits"])
    if len(data["open"]) != len(risk.orders) + len(risk.stops):
        raise InvariantError(
            f"the snapshot's ledger books {len(data['open'])} open orders, its books hold "
            f"{len(risk.orders) + len(risk.stops)}"
        )
    for order_id, reserve in data["open"]:
        order = risk.orders.get(order_id) or risk.stops.get(order_id)
        if order is None:
            raise InvariantError(f"the snapshot's ledger books order {order_id}, which is not open")
        order.reserve = reserve
    for name, stored in data["accounts"].items():
        # Format 2 had no change time.
        fields = stored if len(stored) == 10 else [*stored[:8], 0, stored[8]]
        (cash, reserved, open_orders, limits, killed, reason, window, messages, updated,
         holdings) = fields  # fmt: skip
        ledger = risk.accounts[name] = AccountLedger(name)
        ledger.cash = cash
        ledger.reserved = reserved
        ledger.open_orders = open_orders
        ledger.limits = None if limits is None else RiskLimits(*limits)
        ledger.killed = killed
        ledger.kill_reason = reason
        ledger.window = window
        ledger.messages = messages
        ledger.updated = updated
        for symbol, (quantity, cost, realized, open_buy, open_sell) in holdings.items():
            holding = ledger.holdings[symbol] = Holding()
            holding.quantity = quantity
            holding.cost = cost
            holding.realized = realized
            holding.open_buy = open_buy
            holding.open_sell = open_sell


def _open_orders(engine: EngineView) -> dict[int, tuple[str, str, Side, int, int]]:
    """Every open order: (account, symbol, side, limit or stop price, open quantity)."""
    found: dict[int, tuple[str, str, Side, int, int]] = {}
    for order in engine.orders.orders():
        order_id = order.order_id
        level = order.level
        found[order_id] = (
            order.account,
            level.book.symbol,
            level.side,
            level.price,
            order.remaining,
        )
    for order_id, stop in engine.stops.items():
        price = stop.price or stop.stop_price
        found[order_id] = (stop.account, stop.symbol, stop.side, price, stop.quantity)
    return found


def rebuild_open_orders(engine: EngineView) -> None:
    """Reservations of the open orders of a snapshot taken before accounts
    existed: buys reserve their limit (or stop) price, cash starts at 0."""
    risk = engine.risk
    for order_id, (account, symbol, side, price, open_quantity) in sorted(
        _open_orders(engine).items()
    ):
        ledger = risk.ledger(account)
        holding = ledger.holding(symbol)
        ledger.open_orders += 1
        order = engine.orders.get(order_id) or engine.stops[order_id]
        if side is Side.BUY:
            order.reserve = price
            ledger.reserved += price * open_quantity
            holding.open_buy += open_quantity
        else:
            order.reserve = -1
            holding.open_sell += open_quantity


def check_risk_invariants(engine: EngineView) -> None:
    risk = engine.risk
    controls = engine.controls
    _check(
        (risk.enforced, risk.protection_bps)
        == (controls.enforce_limits, controls.market_protection_bps),
        "risk checks differ from the controls in force",
    )
    orders = _open_orders(engine)
    reserved: dict[str, int] = {}
    counts: dict[str, int] = {}
    open_quantity: dict[tuple[str, str, Side], int] = {}
    for order_id, (account, symbol, side, _, quantity) in orders.items():
        counts[account] = counts.get(account, 0) + 1
        key = (account, symbol, side)
        open_quantity[key] = open_quantity.get(key, 0) + quantity
        reserve = (engine.orders.get(order_id) or engine.stops[order_id]).reserve
        _check((reserve >= 0) == (side is Side.BUY), f"order {order_id} booked on the wrong side")
        if side is Side.BUY:
            reserved[account] = reserved.get(account, 0) + reserve * quantity
    for name, ledger in risk.accounts.items():
        _check(ledger.name == name, f"ledger {ledger.name} filed under {name}")
        _check(
            ledger.reserved == reserved.get(name, 0),
            f"{name}: reserved {ledger.reserved} != {reserved.get(name, 0)}",
        )
        _check(
            ledger.open_orders == counts.get(name, 0),
            f"{name}: {ledger.open_orders} open orders counted, {counts.get(name, 0)} open",
        )
        for symbol, holding in ledger.holdings.items():
            for side, kept in ((Side.BUY, holding.open_buy), (Side.SELL, holding.open_sell)):
                actual = open_quantity.get((name, symbol, side), 0)
                _check(kept == actual, f"{name} {symbol} open {side.name} {kept} != {actual}")
            _check(
                holding.quantity != 0 or holding.cost == 0,
                f"{name} {symbol}: cost {holding.cost} without a position",
            )
    for account in counts:
        _check(account in risk.accounts, f"account {account} has orders but no ledger")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)
