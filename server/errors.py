"""The one place that says what each refusal means on the wire.

Engine and gateway refusals are ``RejectReason`` values; a unary RPC that
refuses answers with the gRPC status below, and the REST bridge turns that
status into the HTTP code of grpc-gateway's table. Error details follow
google.rpc: an ``ErrorInfo`` whose reason is the reject reason's name (the
contract's enum name without its prefix) and, where one field is at fault, a
``BadRequest`` naming it.
"""

from __future__ import annotations

from types import MappingProxyType

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from matching import RejectReason
from server.auth.directory import Refusal

ERROR_DOMAIN = "stocktraderx.io"

R = RejectReason
_INVALID = grpc.StatusCode.INVALID_ARGUMENT
_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION

STATUS_OF_REJECT: MappingProxyType[RejectReason, grpc.StatusCode] = MappingProxyType(
    {
        R.UNKNOWN_SYMBOL: grpc.StatusCode.NOT_FOUND,
        R.INVALID_QUANTITY: _INVALID,
        R.QUANTITY_NOT_MULTIPLE_OF_LOT: _INVALID,
        R.QUANTITY_TOO_LARGE: _INVALID,
        R.INVALID_PRICE: _INVALID,
        R.PRICE_NOT_ON_TICK: _INVALID,
        R.PRICE_OUTSIDE_BAND: _PRECONDITION,
        R.INVALID_ORDER_TYPE: _INVALID,
        R.INVALID_TIME_IN_FORCE: _INVALID,
        R.INVALID_EXPIRE_TIME: _INVALID,
        R.INVALID_STOP_PRICE: _INVALID,
        R.INVALID_DISPLAY_QUANTITY: _INVALID,
        R.POST_ONLY_WOULD_TRADE: _PRECONDITION,
        R.MARKET_CLOSED: _PRECONDITION,
        R.TRADING_HALTED: _PRECONDITION,
        R.NOT_ALLOWED_IN_PHASE: _PRECONDITION,
        R.UNKNOWN_ORDER: grpc.StatusCode.NOT_FOUND,
        R.REPLACE_QUANTITY_TOO_LOW: _PRECONDITION,
        R.ORDER_NOT_REPLACEABLE: _PRECONDITION,
        R.INVALID_PHASE_TRANSITION: _PRECONDITION,
        R.DUPLICATE_SYMBOL: grpc.StatusCode.ALREADY_EXISTS,
        R.INVALID_INSTRUMENT: _INVALID,
        R.DUPLICATE_CLIENT_ORDER_ID: grpc.StatusCode.ALREADY_EXISTS,
        R.UNKNOWN_ACCOUNT: grpc.StatusCode.NOT_FOUND,
        R.INVALID_SIDE: _INVALID,
        R.INVALID_SELF_TRADE_PREVENTION: _INVALID,
        R.INVALID_RISK_LIMITS: _INVALID,
        R.INVALID_AMOUNT: _INVALID,
        R.RISK_MAX_ORDER_QUANTITY: _PRECONDITION,
        R.RISK_MAX_ORDER_NOTIONAL: _PRECONDITION,
        R.RISK_PRICE_COLLAR: _PRECONDITION,
        R.RISK_BUYING_POWER: _PRECONDITION,
        R.RISK_INSUFFICIENT_POSITION: _PRECONDITION,
        R.RISK_POSITION_LIMIT: _PRECONDITION,
        R.RISK_MAX_OPEN_ORDERS: _PRECONDITION,
        R.RISK_MESSAGE_RATE: grpc.StatusCode.RESOURCE_EXHAUSTED,
        R.KILL_SWITCH_ACTIVE: grpc.StatusCode.PERMISSION_DENIED,
    }
)

# grpc-gateway's runtime.HTTPStatusFromCode.
HTTP_OF_STATUS: MappingProxyType[grpc.StatusCode, int] = MappingProxyType(
    {
        grpc.StatusCode.OK: 200,
        grpc.StatusCode.CANCELLED: 499,
        grpc.StatusCode.UNKNOWN: 500,
        grpc.StatusCode.INVALID_ARGUMENT: 400,
        grpc.StatusCode.DEADLINE_EXCEEDED: 504,
        grpc.StatusCode.NOT_FOUND: 404,
        grpc.StatusCode.ALREADY_EXISTS: 409,
        grpc.StatusCode.PERMISSION_DENIED: 403,
        grpc.StatusCode.UNAUTHENTICATED: 401,
        grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
        grpc.StatusCode.FAILED_PRECONDITION: 400,
        grpc.StatusCode.ABORTED: 409,
        grpc.StatusCode.OUT_OF_RANGE: 400,
        grpc.StatusCode.UNIMPLEMENTED: 501,
        grpc.StatusCode.INTERNAL: 500,
        grpc.StatusCode.UNAVAILABLE: 503,
        grpc.StatusCode.DATA_LOSS: 500,
    }
)

# The request field each refusal points at, for google.rpc.BadRequest.
FIELD_OF_REJECT: MappingProxyType[RejectReason, str] = MappingProxyType(
    {
        R.UNKNOWN_SYMBOL: "symbol",
        R.INVALID_QUANTITY: "quantity",
        R.QUANTITY_NOT_MULTIPLE_OF_LOT: "quantity",
        R.QUANTITY_TOO_LARGE: "quantity",
        R.INVALID_PRICE: "price",
        R.PRICE_NOT_ON_TICK: "price",
        R.PRICE_OUTSIDE_BAND: "price",
        R.INVALID_ORDER_TYPE: "order_type",
        R.INVALID_TIME_IN_FORCE: "time_in_force",
        R.INVALID_EXPIRE_TIME: "expire_time",
        R.INVALID_STOP_PRICE: "stop_price",
        R.INVALID_DISPLAY_QUANTITY: "display_quantity",
        R.POST_ONLY_WOULD_TRADE: "post_only",
        R.UNKNOWN_ORDER: "order_id",
        R.REPLACE_QUANTITY_TOO_LOW: "quantity",
        R.DUPLICATE_CLIENT_ORDER_ID: "client_order_id",
        R.UNKNOWN_ACCOUNT: "account_id",
        R.INVALID_SIDE: "side",
        R.INVALID_SELF_TRADE_PREVENTION: "self_trade_prevention",
        R.INVALID_RISK_LIMITS: "limits",
        R.INVALID_AMOUNT: "amount",
    }
)


REJECT_OF_FIELD: MappingProxyType[str, RejectReason] = MappingProxyType(
    {
        "side": R.INVALID_SIDE,
        "order_type": R.INVALID_ORDER_TYPE,
        "time_in_force": R.INVALID_TIME_IN_FORCE,
        "expire_time": R.INVALID_EXPIRE_TIME,
        "self_trade_prevention": R.INVALID_SELF_TRADE_PREVENTION,
    }
)
"""The reject reason an order stream report carries when the gateway refuses
one of these fields (others carry REJECT_REASON_UNSPECIFIED and the text)."""


def gateway_reason(field: str) -> int:
    """The reject reason for a gateway refusal of ``field`` (a path such as
    ``place.expire_time`` counts by its last name), 0 if none fits."""
    name = field.rpartition(".")[2].partition("[")[0]
    reason = REJECT_OF_FIELD.get(name)
    return 0 if reason is None else int(reason)


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_OF_STATUS[code]


def rejection(reason: RejectReason, message: str) -> status_pb2.Status:
    """The google.rpc.Status a unary RPC answers ``reason`` with."""
    code = STATUS_OF_REJECT[reason]
    status = status_pb2.Status(code=_rpc_code(code), message=message)
    _attach(status, error_details_pb2.ErrorInfo(reason=reason.name, domain=ERROR_DOMAIN))
    field = FIELD_OF_REJECT.get(reason)
    if field is not None and code is _INVALID:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
        _attach(status, error_details_pb2.BadRequest(field_violations=[violation]))
    return status


def _attach(status: status_pb2.Status, detail: Message) -> None:
    packed = any_pb2.Any()
    packed.Pack(detail)
    status.details.append(packed)


def _rpc_code(code: grpc.StatusCode) -> int:
    number: int = code.value[0]
    assert code_pb2.Code.Name(number) == code.name
    return number


def invalid_argument(field: str, message: str) -> status_pb2.Status:
    """A request the gateway refuses before it reaches the sequencer."""
    status = status_pb2.Status(code=_rpc_code(_INVALID), message=message)
    _attach(status, error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain=ERROR_DOMAIN))
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
    _attach(status, error_details_pb2.BadRequest(field_violations=[violation]))
    return status


def unavailable(message: str) -> status_pb2.Status:
    """The core went away before answering: the command's outcome is unknown
    (resend it with the same client order id, or resume the order stream)."""
    status = status_pb2.Status(code=_rpc_code(grpc.StatusCode.UNAVAILABLE), message=message)
    _attach(status, error_details_pb2.ErrorInfo(reason="CORE_UNAVAILABLE", domain=ERROR_DOMAIN))
    return status


def malformed(message: str) -> status_pb2.Status:
    """Request bytes that do not parse as the method's request message."""
    status = status_pb2.Status(code=_rpc_code(_INVALID), message=message)
    _attach(status, error_details_pb2.ErrorInfo(reason="MALFORMED_REQUEST", domain=ERROR_DOMAIN))
    return status


STATUS_OF_REFUSAL: MappingProxyType[Refusal, grpc.StatusCode] = MappingProxyType(
    {
        Refusal.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
        Refusal.EXISTS: grpc.StatusCode.ALREADY_EXISTS,
        Refusal.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
        Refusal.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
        Refusal.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
        Refusal.THROTTLED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
"""Refusals of the user directory (sign-in, registration, API keys)."""


def refusal_status(kind: Refusal, message: str, field: str = "") -> status_pb2.Status:
    if kind is Refusal.INVALID and field:
        return invalid_argument(field, message)
    status = status_pb2.Status(code=_rpc_code(STATUS_OF_REFUSAL[kind]), message=message)
    _attach(status, error_details_pb2.ErrorInfo(reason=kind.name, domain=ERROR_DOMAIN))
    return status


def forbidden(message: str) -> status_pb2.Status:
    """An object the caller may not touch (another user's account or order)."""
    return refusal_status(Refusal.FORBIDDEN, message)


def not_found(message: str) -> status_pb2.Status:
    """A user, account or object the request names that does not exist."""
    return refusal_status(Refusal.NOT_FOUND, message)
