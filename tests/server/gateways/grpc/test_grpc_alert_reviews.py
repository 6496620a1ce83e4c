"""Reviewing surveillance alerts over gRPC, sign-in required: a risk officer
takes an alert through the desk's statuses, the rules refuse with their
reasons, every review is kept, audited and streamed, and all of it is read
back after the exchange restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from stocktraderx.v1 import options_pb2, risk_pb2, risk_pb2_grpc

from server.app import Exchange
from server.audit import AUTH_FIELDS, verify
from server.store import schema
from tests.server.local import local_settings

S = risk_pb2


def _bearer(exchange: Exchange, user: str, role: int) -> tuple[tuple[str, str]]:
    assert exchange.tokens is not None
    return (("authorization", f"Bearer {exchange.tokens.issue(user, (role,))[0]}"),)


async def _refused(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    assert status is not None
    reason = next((info.reason for detail in status.details if detail.Unpack(info)), "")
    return caught.value.code(), reason


def _resolve(alert_id: str, status: int, note: str = "") -> risk_pb2.ResolveAlertRequest:
    return S.ResolveAlertRequest(alert_id=alert_id, status=status, note=note)  # type: ignore[arg-type]


def _trail(reviews: object) -> list[tuple[int, int, str, str]]:
    return [
        (review.from_status, review.to_status, review.reviewer_user_id, review.note)
        for review in reviews  # type: ignore[attr-defined]
    ]


def test_an_officer_reviews_an_alert_and_the_trail_survives_a_restart(tmp_path: Path) -> None:
    settings = local_settings(tmp_path, auth_required=True)

    async def main() -> None:
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                alert_id = await _review(exchange, risk_pb2_grpc.RiskServiceStub(channel))
        finally:
            await exchange.stop()
        again = Exchange(settings)
        await again.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{again.port}") as channel:
                await _after_restart(again, risk_pb2_grpc.RiskServiceStub(channel), alert_id)
        finally:
            await again.stop()

    asyncio.run(main())


async def _review(exchange: Exchange, risk: risk_pb2_grpc.RiskServiceAsyncStub) -> str:
    officer = _bearer(exchange, "officer", options_pb2.ROLE_RISK_OFFICER)
    admin = _bearer(exchange, "ops", options_pb2.ROLE_ADMIN)
    trader = _bearer(exchange, "trader", options_pb2.ROLE_TRADER)
    created = await risk.CreateAlert(
        S.CreateAlertRequest(
            severity=S.ALERT_SEVERITY_HIGH, account_id="ALICE", symbol="AAPL",
            description="quotes pulled before every print",
        ),
        metadata=officer,
    )  # fmt: skip
    alert_id = created.alert.alert_id
    assert (created.alert.status, created.alert.review_count) == (S.ALERT_STATUS_OPEN, 0)

    stream = risk.StreamAlerts(S.StreamAlertsRequest(symbol="AAPL"), metadata=officer, timeout=20)
    first = await stream.read()
    assert isinstance(first, S.StreamAlertsResponse)
    assert first.HasField("heartbeat")

    # The rules, each with its reason.
    def resolve(alert: str, status: int, note: str = "", token: object = officer) -> object:
        return risk.ResolveAlert(_resolve(alert, status, note), metadata=token)  # type: ignore[arg-type]

    refusals = {
        "trader": resolve(alert_id, S.ALERT_STATUS_DISMISSED, "x", trader),
        "unknown": resolve("999999", S.ALERT_STATUS_UNDER_REVIEW),
        "not a number": resolve("abc", S.ALERT_STATUS_UNDER_REVIEW),
        "no note": resolve(alert_id, S.ALERT_STATUS_DISMISSED),
        "no status": resolve(alert_id, S.ALERT_STATUS_UNSPECIFIED),
        "unchanged": resolve(alert_id, S.ALERT_STATUS_OPEN),
        "get unknown": risk.GetAlert(S.GetAlertRequest(alert_id="999999"), metadata=officer),
        "trader get": risk.GetAlert(S.GetAlertRequest(alert_id=alert_id), metadata=trader),
    }  # fmt: skip
    answers = {name: await _refused(call) for name, call in refusals.items()}  # type: ignore[arg-type]
    invalid = (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert answers == {
        "trader": (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"),
        "unknown": (grpc.StatusCode.NOT_FOUND, "UNKNOWN_ALERT"),
        "not a number": (grpc.StatusCode.NOT_FOUND, "UNKNOWN_ALERT"),
        "no note": invalid,
        "no status": invalid,
        "unchanged": invalid,
        "get unknown": (grpc.StatusCode.NOT_FOUND, "UNKNOWN_ALERT"),
        "trader get": (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"),
    }

    taken = await risk.ResolveAlert(
        _resolve(alert_id, S.ALERT_STATUS_UNDER_REVIEW), metadata=officer
    )
    assert (taken.alert.status, taken.alert.reviewer_user_id, taken.alert.review_count) == (
        S.ALERT_STATUS_UNDER_REVIEW, "officer", 1,
    )  # fmt: skip
    streamed = await _next_alert(stream)
    assert (streamed.alert_id, streamed.status, streamed.review_count) == (
        alert_id, S.ALERT_STATUS_UNDER_REVIEW, 1,
    )  # fmt: skip

    confirmed = await risk.ResolveAlert(
        _resolve(alert_id, S.ALERT_STATUS_CONFIRMED, "  STOR filed, account restricted  "),
        metadata=officer,
    )
    assert confirmed.alert.review_note == "STOR filed, account restricted"
    assert confirmed.alert.review_time.ToNanoseconds() >= taken.alert.review_time.ToNanoseconds()
    assert (await _next_alert(stream)).status == S.ALERT_STATUS_CONFIRMED

    # Closed: the officer may not reopen it; an administrator may.
    reopen = risk.ResolveAlert(_resolve(alert_id, S.ALERT_STATUS_ESCALATED, "new facts"),
                               metadata=officer)  # fmt: skip
    assert await _refused(reopen) == (grpc.StatusCode.FAILED_PRECONDITION, "ALERT_CLOSED")
    reopened = await risk.ResolveAlert(
        _resolve(alert_id, S.ALERT_STATUS_ESCALATED, "new facts: reopened for compliance"),
        metadata=admin,
    )
    assert _trail(reopened.reviews) == [
        (S.ALERT_STATUS_OPEN, S.ALERT_STATUS_UNDER_REVIEW, "officer", ""),
        (S.ALERT_STATUS_UNDER_REVIEW, S.ALERT_STATUS_CONFIRMED, "officer",
         "STOR filed, account restricted"),
        (S.ALERT_STATUS_CONFIRMED, S.ALERT_STATUS_ESCALATED, "ops",
         "new facts: reopened for compliance"),
    ]  # fmt: skip
    assert (await _next_alert(stream)).review_count == 3
    stream.cancel()

    # Every review is in the hash-chained auth log, which still verifies.
    store = exchange.store
    assert store is not None
    entries = [dict(row._mapping) for row in await store.rows(schema.auth_log, ["entry_id"])]
    reviews = [entry for entry in entries if entry["event"] == "alert_reviewed"]
    assert [(entry["user_id"], entry["detail"]) for entry in reviews] == [
        ("officer", f"alert {alert_id} OPEN -> UNDER_REVIEW: "),
        ("officer", f"alert {alert_id} UNDER_REVIEW -> CONFIRMED: STOR filed, account restricted"),
        ("ops", f"alert {alert_id} CONFIRMED -> ESCALATED: new facts: reopened for compliance"),
    ]
    assert verify(entries, AUTH_FIELDS, "entry_id") == (len(entries), None)
    return alert_id


async def _next_alert(stream: Any) -> risk_pb2.Alert:
    while True:
        message = await stream.read()
        assert isinstance(message, S.StreamAlertsResponse)
        if message.HasField("alert"):
            return message.alert


async def _after_restart(
    exchange: Exchange, risk: risk_pb2_grpc.RiskServiceAsyncStub, alert_id: str
) -> None:
    officer = _bearer(exchange, "officer", options_pb2.ROLE_RISK_OFFICER)
    found = await risk.GetAlert(S.GetAlertRequest(alert_id=alert_id), metadata=officer)
    assert (found.alert.status, found.alert.reviewer_user_id, found.alert.review_count) == (
        S.ALERT_STATUS_ESCALATED, "ops", 3,
    )  # fmt: skip
    assert [review.to_status for review in found.reviews] == [
        S.ALERT_STATUS_UNDER_REVIEW, S.ALERT_STATUS_CONFIRMED, S.ALERT_STATUS_ESCALATED,
    ]  # fmt: skip
    second = await risk.CreateAlert(
        S.CreateAlertRequest(severity=S.ALERT_SEVERITY_LOW, description="for the record"),
        metadata=officer,
    )

    async def listed(*statuses: int) -> list[str]:
        request = S.ListAlertsRequest(statuses=statuses)  # type: ignore[arg-type]
        answer = await risk.ListAlerts(request, metadata=officer)
        return [alert.alert_id for alert in answer.alerts]

    assert await listed(S.ALERT_STATUS_ESCALATED) == [alert_id]
    assert await listed(S.ALERT_STATUS_OPEN) == [second.alert.alert_id]
    assert await listed(S.ALERT_STATUS_OPEN, S.ALERT_STATUS_ESCALATED) == [
        second.alert.alert_id, alert_id,
    ]  # fmt: skip
    assert await listed(S.ALERT_STATUS_DISMISSED) == []
    assert sorted(await listed()) == sorted([alert_id, second.alert.alert_id])
