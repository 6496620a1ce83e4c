"""Every refusal maps to one gRPC status, one HTTP code and useful details."""

import grpc
import pytest
from google.rpc import error_details_pb2
from stocktraderx.v1 import common_pb2

from matching import RejectReason
from server.errors import (
    ERROR_DOMAIN,
    HTTP_OF_STATUS,
    STATUS_OF_REJECT,
    http_status,
    rejection,
)


def test_every_reject_reason_has_a_status() -> None:
    assert set(STATUS_OF_REJECT) == set(RejectReason)


def test_every_status_code_has_an_http_code() -> None:
    assert set(HTTP_OF_STATUS) == set(grpc.StatusCode)


@pytest.mark.parametrize(
    ("reason", "code", "http"),
    [
        (RejectReason.PRICE_NOT_ON_TICK, grpc.StatusCode.INVALID_ARGUMENT, 400),
        (RejectReason.UNKNOWN_ORDER, grpc.StatusCode.NOT_FOUND, 404),
        (RejectReason.DUPLICATE_CLIENT_ORDER_ID, grpc.StatusCode.ALREADY_EXISTS, 409),
        (RejectReason.MARKET_CLOSED, grpc.StatusCode.FAILED_PRECONDITION, 400),
        (RejectReason.RISK_MESSAGE_RATE, grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (RejectReason.KILL_SWITCH_ACTIVE, grpc.StatusCode.PERMISSION_DENIED, 403),
    ],
)
def test_mapping(reason: RejectReason, code: grpc.StatusCode, http: int) -> None:
    assert STATUS_OF_REJECT[reason] is code
    assert http_status(code) == http


def test_invalid_argument_names_the_field_and_the_reason() -> None:
    status = rejection(RejectReason.PRICE_NOT_ON_TICK, "price 190.005 is not on the 0.01 tick")
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    info = error_details_pb2.ErrorInfo()
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("PRICE_NOT_ON_TICK", ERROR_DOMAIN)
    assert status.details[1].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "price"


def test_error_reasons_are_the_contract_enum_names() -> None:
    for reason in RejectReason:
        proto_name = common_pb2.RejectReason.Name(common_pb2.RejectReason.ValueType(reason.value))
        assert proto_name == f"REJECT_REASON_{reason.name}"
        assert rejection(reason, "x").details
