"""Every ErrorInfo reason the exchange can answer with is documented: in the
comment of RejectReason (common.proto, read from the contract's descriptor
set as clients' tools read it) and in the table of docs/api.md, with the same
gRPC status and HTTP code as ``server/errors.py`` gives it."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
from stocktraderx.v1 import common_pb2

from server.errors import (
    OTHER_REASONS,
    STATUS_OF_REASON,
    STATUS_OF_REJECT,
    error,
    http_status,
    library_error,
)
from server.gateways.rest.comments import contract_comments

ROOT = Path(__file__).resolve().parents[2]
_LISTED = re.compile(r"^  ([A-Z][A-Z_]*) \(([A-Z_]+)[,)]")
_ROW = re.compile(r"^\| `([A-Z_]+)` \| `([A-Z_]+)` \| (\d+) \|")
MAKERS = ("context.abort(", "status_pb2.Status(", "ErrorInfo(", ".set_code(")
"""What makes a gRPC error status: only server/errors.py may."""


def _documented_in_the_contract() -> dict[str, str]:
    comment = contract_comments()["stocktraderx.v1.RejectReason"]
    return {
        found.group(1): found.group(2)
        for found in map(_LISTED.match, comment.splitlines())
        if found is not None
    }


def test_the_contract_lists_every_other_reason_with_its_status() -> None:
    listed = _documented_in_the_contract()
    assert listed == {reason: code.name for reason, code in OTHER_REASONS.items()}


def test_every_reject_reason_is_a_value_of_the_contract_enum() -> None:
    values = {
        value.name.removeprefix("REJECT_REASON_")
        for value in common_pb2.RejectReason.DESCRIPTOR.values
        if value.number
    }
    assert values == {reason.name for reason in STATUS_OF_REJECT}
    assert values.isdisjoint(OTHER_REASONS)


def test_api_md_tabulates_every_reason_with_its_status_and_http_code() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    rows = [found.groups() for found in map(_ROW.match, text.splitlines()) if found is not None]
    assert rows == [
        (reason, code.name, str(http_status(code, reason)))
        for reason, code in STATUS_OF_REASON.items()
    ]


def test_every_status_made_carries_its_reason_in_the_domain() -> None:
    for reason, code in STATUS_OF_REASON.items():
        status = error(reason, "words")
        assert status.code == code.value[0]
        assert status.details[0].TypeName() == "google.rpc.ErrorInfo"
    assert library_error(grpc.StatusCode.UNKNOWN, "boom").code == grpc.StatusCode.UNKNOWN.value[0]


def test_errors_are_made_only_in_server_errors_py() -> None:
    """So that no error escapes the table above: a status made elsewhere
    (as the auth interceptor's were) would carry no ErrorInfo."""
    makers = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "server").rglob("*.py"))
        if path != ROOT / "server" / "errors.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(maker in line for maker in MAKERS)
    ]
    assert makers == []
