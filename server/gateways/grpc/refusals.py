"""The order stream's reports of commands refused before the sequencer.

A command the gateway refuses (an input rule, a duplicate client order id,
an account or order the caller may not use, too many commands in one
message) never becomes a sequenced command: it is not journaled, the core
spends nothing on it and no account's history holds it, so a flood of bad
requests grows nothing. The core's refusal of a client order id another
gateway used first is of the same kind (it refuses before sequencing). Such
a refusal is answered to the issuing stream alone, as a report with
``report_sequence`` 0 and ``sequence`` 0. Refusals by the engine (risk,
tick, band, unknown symbol, phase...) are sequenced and numbered; the
registry makes their reports.

Each report echoes what the refused request said: all of a new order's
fields a report has, and the order id, account and client request id of a
cancel or replace, so a client can tell which of its requests it answers
without keeping anything but its own ids.
"""

from __future__ import annotations

import time
from typing import Any

from stocktraderx.v1 import orders_pb2 as pb

from matching import CancelRejected, NewOrder, OrderRejected, RejectReason, ReplaceOrder
from server.errors import gateway_reason
from server.gateways.grpc import convert, inputs
from server.metrics.order_entry import REJECTS, reason_name
from server.model.registry import Report
from server.model.view import Applied


class GatewayRefusal(Report):
    """A gateway refusal's report, with the text that says what was wrong
    (reports made from the journal have none)."""

    text: str


def refusal(
    exec_type: int,
    reason: int,
    text: str,
    *,
    account: str = "",
    client_order_id: str = "",
    symbol: str = "",
    side: int = 0,
    order_type: int = 0,
    time_in_force: int = 0,
    price: int = 0,
    stop_price: int = 0,
    quantity: int = 0,
    order_id: int = 0,
    client_request_id: str = "",
) -> GatewayRefusal:
    """A refusal before the sequencer: outside every account's numbered history."""
    status = pb.ORDER_STATUS_REJECTED if exec_type == pb.EXEC_TYPE_REJECTED else 0
    report = GatewayRefusal(
        0, exec_type, status, order_id, _echo(client_order_id), _echo(account), _echo(symbol),
        side, order_type, time_in_force, price, stop_price, quantity, 0, 0, 0, 0, 0, 0, 0,
        reason, 0, 0, time.time_ns(), _echo(client_request_id),
    )  # fmt: skip
    report.text = text
    REJECTS.labels(reason_name(reason)).inc()
    return report


def _echo(value: str) -> str:
    """``value`` if it is short enough to send back; a refused 3 MiB symbol
    is not repeated to its sender."""
    return value if len(value) <= inputs.MAX_ID else ""


def of_request(exec_type: int, reason: int, text: str, body: Any) -> GatewayRefusal:
    """The refusal of one stream command's request message, echoing it: a
    new order's fields, or the order id, account and client request id of a
    cancel or replace (whose price and quantity would read as the order's)."""
    if type(body) is pb.PlaceOrderRequest:
        return refusal(
            exec_type, reason, text,
            account=body.account_id, client_order_id=body.client_order_id, symbol=body.symbol,
            side=body.side, order_type=body.order_type, time_in_force=body.time_in_force,
            price=body.price, stop_price=body.stop_price, quantity=body.quantity,
        )  # fmt: skip
    return refusal(
        exec_type, reason, text,
        account=getattr(body, "account_id", ""), symbol=getattr(body, "symbol", ""),
        order_id=getattr(body, "order_id", 0),
        client_request_id=getattr(body, "client_request_id", ""),
    )  # fmt: skip


def of_order(command: NewOrder, client_order_id: str, reason: int, text: str) -> GatewayRefusal:
    """The refusal of a new order the gateway has converted (defaults filled
    in, as the engine's reports show them)."""
    return refusal(
        pb.EXEC_TYPE_REJECTED,
        reason,
        text,
        account=command.account,
        client_order_id=client_order_id,
        symbol=command.symbol,
        side=int(command.side),
        order_type=int(command.order_type),
        time_in_force=int(command.time_in_force),
        price=command.price,
        stop_price=command.stop_price,
        quantity=command.quantity,
    )


def bad_request(which: str | None, body: Any, error: convert.BadRequest) -> GatewayRefusal:
    """A command that breaks an input rule, with the reason its field has."""
    exec_type = {
        "cancel": pb.EXEC_TYPE_CANCEL_REJECTED,
        "replace": pb.EXEC_TYPE_REPLACE_REJECTED,
    }.get(which or "", pb.EXEC_TYPE_REJECTED)
    text = str(error)
    if not text.startswith(error.field):
        text = f"{error.field}: {text}"
    return of_request(exec_type, gateway_reason(error.field), text, body)


def core_refusals(entered: list[Applied]) -> list[Report]:
    """Reports for the commands the core refused before sequencing them
    (sequence 0): a client order id another gateway used first. An
    in-process sequencer refuses none."""
    refusals: list[Report] = []
    for applied in entered:
        if applied.sequence:
            continue
        command: Any = applied.command
        for event in applied.events:
            if type(event) is OrderRejected and type(command) is NewOrder:
                refusals.append(
                    of_order(command, applied.client_order_id, int(event.reason), event.text)
                )
            elif type(event) is CancelRejected:
                exec_type = (
                    pb.EXEC_TYPE_REPLACE_REJECTED
                    if type(command) is ReplaceOrder
                    else pb.EXEC_TYPE_CANCEL_REJECTED
                )
                refusals.append(
                    refusal(
                        exec_type,
                        int(event.reason),
                        event.text,
                        account=event.account,
                        order_id=event.order_id,
                        client_request_id=applied.client_order_id,
                    )
                )
    return refusals


NOT_YOURS = "account is not one of yours"


def not_yours(body: Any) -> GatewayRefusal:
    """A command for an account the caller may not use: the contract's
    reason, as unary calls give it."""
    exec_type = {
        pb.CancelOrderRequest: pb.EXEC_TYPE_CANCEL_REJECTED,
        pb.ReplaceOrderRequest: pb.EXEC_TYPE_REPLACE_REJECTED,
    }.get(type(body), pb.EXEC_TYPE_REJECTED)
    return of_request(exec_type, RejectReason.UNKNOWN_ACCOUNT, NOT_YOURS, body)
