"""The one place that says what each refusal means on the wire.

Engine and gateway refusals are ``RejectReason`` values; a unary RPC that
refuses answers with the gRPC status below, and the REST bridge turns that
status into the HTTP code of grpc-gateway's table. Every error the exchange
answers carries google.rpc details: an ``ErrorInfo`` (domain
``stocktraderx.io``) whose reason is the reject reason's name (the contract's
enum name without its prefix) or one of ``OTHER_REASONS``, and, where one
field is at fault, a ``BadRequest`` naming it. The contract lists the same
reasons in the comment of ``RejectReason`` (common.proto) and docs/api.md
tabulates them; tests/server/test_error_reasons.py keeps the three equal.
"""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from matching import RejectReason

ERROR_DOMAIN = "stocktraderx.io"
_STATUS_DETAILS = "grpc-status-details-bin"


class Refusal(Enum):
    """Why the user directory refuses a request (sign-in, registration, API
    keys): it raises them (``AuthRefusal``), the gateway answers with the
    reason of ``REASON_OF_REFUSAL``."""

    INVALID = "invalid"
    EXISTS = "exists"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    THROTTLED = "throttled"
    DISABLED = "disabled"
    SELF_LOCKOUT = "self_lockout"


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


OTHER_REASONS: MappingProxyType[str, grpc.StatusCode] = MappingProxyType(
    {
        "INVALID_ARGUMENT": _INVALID,
        "MALFORMED_REQUEST": _INVALID,
        "REQUEST_TOO_LARGE": _INVALID,
        "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
        "FORBIDDEN": grpc.StatusCode.PERMISSION_DENIED,
        "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
        "EXISTS": grpc.StatusCode.ALREADY_EXISTS,
        "UNKNOWN_ALERT": grpc.StatusCode.NOT_FOUND,
        "ALERT_CLOSED": _PRECONDITION,
        "THROTTLED": grpc.StatusCode.RESOURCE_EXHAUSTED,
        "USER_DISABLED": grpc.StatusCode.PERMISSION_DENIED,
        "SELF_LOCKOUT": _PRECONDITION,
        "SLOW_CONSUMER": grpc.StatusCode.RESOURCE_EXHAUSTED,
        "TOO_MANY_SUBSCRIPTIONS": grpc.StatusCode.RESOURCE_EXHAUSTED,
        "CORE_UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
        "HISTORY_BEHIND": grpc.StatusCode.UNAVAILABLE,
        "HISTORY_TRIMMED": grpc.StatusCode.OUT_OF_RANGE,
        "ANALYTICS_UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
        "BACKEND_UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
        "TIMEOUT": grpc.StatusCode.DEADLINE_EXCEEDED,
        "INTERNAL": grpc.StatusCode.INTERNAL,
    }
)
"""The ErrorInfo reasons that are not reject reasons: refusals of a request
before any command (input rules, sign-in, access), and calls that could not be
served. What each means is in the comment of ``RejectReason``."""

STATUS_OF_REASON: MappingProxyType[str, grpc.StatusCode] = MappingProxyType(
    {reason.name: code for reason, code in STATUS_OF_REJECT.items()} | dict(OTHER_REASONS)
)
"""Every ErrorInfo reason the exchange answers with, and its gRPC status."""

HTTP_OF_REASON: MappingProxyType[str, int] = MappingProxyType({"REQUEST_TOO_LARGE": 413})
"""The reasons whose HTTP code is not their status's (grpc-gateway has none
for a body over the limit)."""

_REASON_OF_LIBRARY_CODE: MappingProxyType[grpc.StatusCode, str] = MappingProxyType(
    {
        grpc.StatusCode.UNAVAILABLE: "BACKEND_UNAVAILABLE",
        grpc.StatusCode.DEADLINE_EXCEEDED: "TIMEOUT",
    }
)


def http_status(code: grpc.StatusCode, reason: str = "") -> int:
    return HTTP_OF_REASON.get(reason) or HTTP_OF_STATUS[code]


_CODES = MappingProxyType({code.value[0]: code for code in grpc.StatusCode})


def reason_of(status: status_pb2.Status) -> str:
    """The ErrorInfo reason of ``status`` ("" if it has none)."""
    info = error_details_pb2.ErrorInfo()
    return next((str(info.reason) for detail in status.details if detail.Unpack(info)), "")


def http_code(status: status_pb2.Status) -> int:
    """The HTTP code of a google.rpc.Status the REST bridge answers with."""
    return http_status(_CODES[status.code], reason_of(status))


def error(reason: str, message: str, field: str = "") -> status_pb2.Status:
    """The google.rpc.Status of ``reason`` (a key of ``STATUS_OF_REASON``),
    with a BadRequest naming ``field`` when one is given."""
    status = status_pb2.Status(code=_rpc_code(STATUS_OF_REASON[reason]), message=message)
    _attach(status, error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))
    if field:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
        _attach(status, error_details_pb2.BadRequest(field_violations=[violation]))
    return status


def rejection(reason: RejectReason, message: str) -> status_pb2.Status:
    """The google.rpc.Status a unary RPC answers ``reason`` with."""
    field = FIELD_OF_REJECT.get(reason, "")
    return error(reason.name, message, field if STATUS_OF_REJECT[reason] is _INVALID else "")


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
    return error("INVALID_ARGUMENT", message, field)


def unavailable(message: str) -> status_pb2.Status:
    """The core went away before answering: the command's outcome is unknown
    (resend it with the same client order id, or resume the order stream)."""
    return error("CORE_UNAVAILABLE", message)


def malformed(message: str) -> status_pb2.Status:
    """A request that does not read as the method's request message: bytes
    that do not parse (gRPC), or JSON and query strings that do not map (REST)."""
    return error("MALFORMED_REQUEST", message)


def too_large(message: str) -> status_pb2.Status:
    """A REST body over the bridge's limit (HTTP 413)."""
    return error("REQUEST_TOO_LARGE", message)


def unauthenticated(message: str) -> status_pb2.Status:
    """No valid access token (missing, malformed, expired or revoked)."""
    return error("UNAUTHENTICATED", message)


def slow_consumer(message: str) -> status_pb2.Status:
    """A stream whose client left too much unread: it ends, to be resumed."""
    return error("SLOW_CONSUMER", message)


def too_many_subscriptions(message: str) -> status_pb2.Status:
    """A subscription over a connection's limit: end one before adding another."""
    return error("TOO_MANY_SUBSCRIPTIONS", message)


def internal(message: str) -> status_pb2.Status:
    """A call that failed on a bug of the exchange (logged where it happened)."""
    return error("INTERNAL", message)


def history_behind(message: str, *, kept: bool) -> status_pb2.Status:
    """Reports the server cannot list: still being written to the store (when
    one is ``kept``, so a retry will find them), or older than an exchange
    without a store remembers (never to be found)."""
    return error("HISTORY_BEHIND" if kept else "HISTORY_TRIMMED", message)


def analytics_unavailable(message: str) -> status_pb2.Status:
    """The analytics process, which answers the reports, cannot be reached."""
    return error("ANALYTICS_UNAVAILABLE", message)


def status_of_call(failure: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a call of the REST bridge ended with: the
    exchange's own, details included, from the trailers; one of
    ``library_error`` for a status the gRPC library made."""
    trailers: Any = failure.trailing_metadata() or ()
    for key, value in trailers:
        if key == _STATUS_DETAILS and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    code = failure.code()
    return library_error(code, failure.details() or code.name)


def library_error(code: grpc.StatusCode, message: str) -> status_pb2.Status:
    """A status the gRPC library made on the REST bridge's side (the server
    unreachable, the bridge's deadline passed), given the details the
    exchange's own statuses carry. Any other code without details is a bug."""
    reason = _REASON_OF_LIBRARY_CODE.get(code, "INTERNAL")
    status = error(reason, message)
    status.code = _rpc_code(code)
    return status


REASON_OF_REFUSAL: MappingProxyType[Refusal, str] = MappingProxyType(
    {
        Refusal.INVALID: "INVALID_ARGUMENT",
        Refusal.EXISTS: "EXISTS",
        Refusal.UNAUTHENTICATED: "UNAUTHENTICATED",
        Refusal.FORBIDDEN: "FORBIDDEN",
        Refusal.NOT_FOUND: "NOT_FOUND",
        Refusal.THROTTLED: "THROTTLED",
        Refusal.DISABLED: "USER_DISABLED",
        Refusal.SELF_LOCKOUT: "SELF_LOCKOUT",
    }
)
"""Refusals of the user directory (sign-in, registration, API keys), by the
reason they answer with."""


def refusal_status(kind: Refusal, message: str, field: str = "") -> status_pb2.Status:
    """A refusal of the directory; a BadRequest names ``field`` for an invalid one."""
    return error(REASON_OF_REFUSAL[kind], message, field if kind is Refusal.INVALID else "")


def forbidden(message: str) -> status_pb2.Status:
    """An object the caller may not touch (another user's account or order),
    or an RPC the caller's roles do not admit."""
    return refusal_status(Refusal.FORBIDDEN, message)


def not_found(message: str) -> status_pb2.Status:
    """A user, account or object the request names that does not exist."""
    return refusal_status(Refusal.NOT_FOUND, message)


def unknown_alert(alert_id: str) -> status_pb2.Status:
    """A surveillance alert id that names no alert."""
    return error("UNKNOWN_ALERT", f"no alert {alert_id!r}")


def alert_closed(message: str) -> status_pb2.Status:
    """A review of a dismissed or confirmed alert by someone who may not reopen it."""
    return error("ALERT_CLOSED", message)


async def abort(context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status) -> NoReturn:
    """End the call with ``status``, its google.rpc details in the trailers:
    the one way the exchange's gRPC servers answer with an error."""
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, converted.trailing_metadata)
    raise AssertionError("abort returned")
