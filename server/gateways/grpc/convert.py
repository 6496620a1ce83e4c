"""Between the contract's messages and the engine's commands and records.

Requests are checked at this edge for what the engine cannot express (a
missing account, an unspecified side, an enum number this version does not
know); everything about prices, quantities and phases is the engine's to
judge, so that a journal replay makes the same decisions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import orders_pb2 as pb

from matching import NewOrder, OrderType, SelfTradePrevention, Side, TimeInForce
from server.model.registry import OrderRecord, Report

MAX_CLIENT_ORDER_ID = 64


class BadRequest(ValueError):  # noqa: N818 - it is the google.rpc detail's name
    """A request field the gateway refuses; carries the field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


E = TypeVar("E", Side, OrderType, TimeInForce, SelfTradePrevention)

_MEMBERS: dict[type, dict[int, object]] = {
    kind: {member.value: member for member in kind}
    for kind in (Side, OrderType, TimeInForce, SelfTradePrevention)
}
"""Enum members by number: a dict lookup costs a tenth of ``Side(value)``,
which runs ``EnumType.__call__`` in Python on every order."""


def _enum(kind: type[E], value: int, field: str, default: E | None = None) -> E:
    if value == 0:
        if default is None:
            raise BadRequest(field, f"{field} is required")
        return default
    member = _MEMBERS[kind].get(value)
    if member is None:
        raise BadRequest(field, f"{field} {value} is not a known value")
    return member  # type: ignore[return-value]


def _nanos(timestamp: Timestamp) -> int:
    return timestamp.seconds * 1_000_000_000 + timestamp.nanos


def _timestamp(nanos: int) -> Timestamp:
    stamp = Timestamp()
    stamp.seconds, stamp.nanos = divmod(nanos, 1_000_000_000)
    return stamp


def check_client_order_id(value: str) -> None:
    if not value:
        raise BadRequest("client_order_id", "client_order_id is required")
    # isprintable alone admits any script: the contract says printable ASCII.
    if len(value) > MAX_CLIENT_ORDER_ID or not (value.isascii() and value.isprintable()):
        raise BadRequest(
            "client_order_id",
            f"client_order_id must be 1-{MAX_CLIENT_ORDER_ID} printable ASCII characters",
        )


def require(value: str, field: str) -> str:
    if not value:
        raise BadRequest(field, f"{field} is required")
    return value


def new_order(request: pb.PlaceOrderRequest, timestamp: int) -> NewOrder:
    """The engine command for ``request``, stamped with the sequencer's time."""
    require(request.account_id, "account_id")
    require(request.symbol, "symbol")
    check_client_order_id(request.client_order_id)
    return NewOrder(
        timestamp,
        request.account_id,
        request.symbol,
        _enum(Side, request.side, "side"),
        _enum(OrderType, request.order_type, "order_type"),
        request.quantity,
        request.price,
        _enum(TimeInForce, request.time_in_force, "time_in_force", TimeInForce.DAY),
        request.stop_price,
        request.display_quantity,
        request.post_only,
        _enum(
            SelfTradePrevention,
            request.self_trade_prevention,
            "self_trade_prevention",
            SelfTradePrevention.NONE,
        ),
        _nanos(request.expire_time) if request.HasField("expire_time") else 0,
    )


def order_message(record: OrderRecord) -> pb.Order:
    message = pb.Order(
        order_id=record.order_id,
        client_order_id=record.client_order_id,
        account_id=record.account,
        symbol=record.symbol,
        side=record.side,  # type: ignore[arg-type]
        order_type=record.order_type,  # type: ignore[arg-type]
        time_in_force=record.time_in_force,  # type: ignore[arg-type]
        price=record.price,
        stop_price=record.stop_price,
        quantity=record.quantity,
        display_quantity=record.display_quantity,
        post_only=record.post_only,
        self_trade_prevention=record.self_trade_prevention,  # type: ignore[arg-type]
        status=record.status,
        leaves_quantity=record.leaves_quantity,
        cum_quantity=record.cum_quantity,
        avg_price=record.avg_price,
        reject_reason=record.reject_reason,  # type: ignore[arg-type]
        cancel_reason=record.cancel_reason,  # type: ignore[arg-type]
        create_time=_timestamp(record.create_time),
        update_time=_timestamp(record.update_time),
        last_report_sequence=record.last_report_sequence,
    )
    if record.expire_time:
        message.expire_time.CopyFrom(_timestamp(record.expire_time))
    return message


def report_message(report: Report) -> pb.ExecutionReport:
    message = pb.ExecutionReport()
    _fill_report(message, report)
    return message


def add_reports(
    reports: RepeatedCompositeFieldContainer[pb.ExecutionReport], batch: Iterable[Report]
) -> None:
    """Append ``batch`` to a repeated field in place: building each report
    inside its parent saves the copy a list of finished messages costs
    (2.1 against 2.9 µs per report, measured)."""
    add = reports.add
    for report in batch:
        _fill_report(add(), report)


def _fill_report(message: pb.ExecutionReport, report: Report) -> None:
    (
        message.report_sequence, message.exec_type, message.order_status, message.order_id,
        message.client_order_id, message.account_id, message.symbol, message.side,
        message.order_type, message.time_in_force, message.price, message.stop_price,
        message.quantity, message.leaves_quantity, message.cum_quantity, message.avg_price,
        message.last_price, message.last_quantity, message.trade_id, message.liquidity,
        message.reject_reason, message.cancel_reason, message.sequence, transact_time,
        message.client_request_id,
    ) = report  # type: ignore[assignment]  # fmt: skip
    stamp = message.transact_time
    stamp.seconds, stamp.nanos = divmod(transact_time, 1_000_000_000)
