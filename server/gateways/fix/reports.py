"""The exchange's execution reports as FIX messages.

Every report of an account becomes an ExecutionReport (8), but a refused
cancel or replace, which becomes an OrderCancelReject (9). FIX 4.4 reports a
fill as ExecType F (Trade), FIX 4.2 as 1 or 2 (partial, full) with
ExecTransType 0.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stocktraderx.v1 import orders_pb2 as pb

from server.gateways.fix.admin import new
from server.gateways.fix.message import Message
from server.gateways.fix.orders import format_price
from server.model.registry import OrderRecord, Report

_EXEC_TYPES_44: dict[int, str] = {
    pb.EXEC_TYPE_NEW: "0",
    pb.EXEC_TYPE_PARTIAL_FILL: "F",
    pb.EXEC_TYPE_FILL: "F",
    pb.EXEC_TYPE_CANCELED: "4",
    pb.EXEC_TYPE_REPLACED: "5",
    pb.EXEC_TYPE_REJECTED: "8",
    pb.EXEC_TYPE_EXPIRED: "C",
    pb.EXEC_TYPE_TRIGGERED: "L",
    pb.EXEC_TYPE_RESTATED: "D",
}
_EXEC_TYPES_42: dict[int, str] = {
    **_EXEC_TYPES_44,
    pb.EXEC_TYPE_PARTIAL_FILL: "1",
    pb.EXEC_TYPE_FILL: "2",
}
_EXEC_TYPES_42[pb.EXEC_TYPE_TRIGGERED] = "0"
_ORDER_STATUS: dict[int, str] = {
    pb.ORDER_STATUS_NEW: "0",
    pb.ORDER_STATUS_PARTIALLY_FILLED: "1",
    pb.ORDER_STATUS_FILLED: "2",
    pb.ORDER_STATUS_CANCELED: "4",
    pb.ORDER_STATUS_REJECTED: "8",
    pb.ORDER_STATUS_EXPIRED: "C",
    # FIX has no "waiting for its trigger": a stop order is New until it triggers.
    pb.ORDER_STATUS_PENDING_TRIGGER: "0",
}
_SIDES = {1: "1", 2: "2"}
_ORDER_TYPES = {1: "2", 2: "1", 3: "3", 4: "4"}
_TIME_IN_FORCE = {1: "0", 2: "1", 3: "3", 4: "4", 5: "6"}
_CANCEL_REJECTS = (pb.EXEC_TYPE_CANCEL_REJECTED, pb.EXEC_TYPE_REPLACE_REJECTED)
# OrdRejReason (103): the exchange's reasons where FIX has a word for them.
OTHER = "99"


def fix_time(nanos: int) -> str:
    moment = datetime.fromtimestamp(nanos / 1_000_000_000, UTC)
    return moment.strftime("%Y%m%d-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def exec_id(report: Report) -> str:
    """Unique per report: the journal sequence and the account's report number."""
    return f"{report.sequence}-{report.report_sequence}-{report.order_id}"


def to_fix(report: Report, begin_string: str, text: str = "", orig_cl_ord_id: str = "") -> Message:
    """The FIX message for one report of the session's account."""
    if report.exec_type in _CANCEL_REJECTS:
        return _cancel_reject(report, text, orig_cl_ord_id)
    exec_types = _EXEC_TYPES_44 if begin_string >= "FIX.4.4" else _EXEC_TYPES_42
    message = new("8")
    client_id = report.client_request_id or report.client_order_id
    message.set(1, report.account)
    message.set(6, format_price(report.avg_price))
    message.set(11, client_id or "NONE")
    message.set(14, str(report.cum_quantity))
    message.set(17, exec_id(report))
    if begin_string < "FIX.4.3":
        message.set(20, "0")
    if report.last_quantity:
        message.set(31, format_price(report.last_price))
        message.set(32, str(report.last_quantity))
    message.set(37, str(report.order_id) if report.order_id else "NONE")
    message.set(38, str(report.quantity))
    message.set(39, _ORDER_STATUS.get(report.order_status, "8"))
    message.set(40, _ORDER_TYPES.get(report.order_type, "2"))
    if report.client_request_id and report.client_order_id != report.client_request_id:
        message.set(41, orig_cl_ord_id or report.client_order_id)
    if report.price:
        message.set(44, format_price(report.price))
    message.set(54, _SIDES.get(report.side, "1"))
    message.set(55, report.symbol)
    if text:
        message.set(58, text)
    message.set(59, _TIME_IN_FORCE.get(report.time_in_force, "0"))
    message.set(60, fix_time(report.transact_time))
    if report.stop_price:
        message.set(99, format_price(report.stop_price))
    if report.exec_type == pb.EXEC_TYPE_REJECTED:
        message.set(103, OTHER)
    message.set(150, exec_types.get(report.exec_type, "D"))
    message.set(151, str(report.leaves_quantity))
    return message


def _cancel_reject(report: Report, text: str, orig_cl_ord_id: str) -> Message:
    message = new("9")
    message.set(11, report.client_request_id or "NONE")
    message.set(37, str(report.order_id) if report.order_id else "NONE")
    message.set(39, _ORDER_STATUS.get(report.order_status, "8"))
    message.set(41, orig_cl_ord_id or report.client_order_id or "NONE")
    if text:
        message.set(58, text)
    # CxlRejReason 102: 1 unknown order when there is none, else 0 too late to cancel.
    message.set(102, "0" if report.order_status else "1")
    message.set(434, "1" if report.exec_type == pb.EXEC_TYPE_CANCEL_REJECTED else "2")
    return message


def status_report(record: OrderRecord, begin_string: str) -> Message:
    """The answer to an OrderStatusRequest (H): the order as it stands."""
    status = _ORDER_STATUS.get(record.status, "8")
    message = new("8")
    message.set(1, record.account)
    message.set(6, format_price(record.avg_price))
    message.set(11, record.client_order_id or "NONE")
    message.set(14, str(record.cum_quantity))
    message.set(17, f"S{record.order_id}-{record.last_report_sequence}")
    if begin_string < "FIX.4.3":
        message.set(20, "3")
    message.set(37, str(record.order_id))
    message.set(38, str(record.quantity))
    message.set(39, status)
    message.set(40, _ORDER_TYPES.get(record.order_type, "2"))
    if record.price:
        message.set(44, format_price(record.price))
    message.set(54, _SIDES.get(record.side, "1"))
    message.set(55, record.symbol)
    message.set(59, _TIME_IN_FORCE.get(record.time_in_force, "0"))
    message.set(150, "I" if begin_string >= "FIX.4.4" else status)
    message.set(151, str(record.leaves_quantity))
    return message
