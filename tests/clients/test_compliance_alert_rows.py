"""The surveillance alerts report's rows, resolution columns included,
against values worked out by hand from one reviewed and one open alert."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import risk_pb2

from clients.compliance_report import ALERT_COLUMNS, alert_row


def _at(nanos: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(nanos)
    return stamp


# 2026-12-07T14:30:00Z is 1_796_653_800 s after the epoch.
DAY = 1_796_653_800 * 1_000_000_000


def test_a_reviewed_alert_shows_its_last_review_and_how_many() -> None:
    alert = risk_pb2.Alert(
        alert_id="12", kind=risk_pb2.ALERT_KIND_SPOOFING, severity=risk_pb2.ALERT_SEVERITY_HIGH,
        account_id="ALICE", symbol="AAPL", description="3 large orders cancelled",
        evidence=risk_pb2.AlertEvidence(order_ids=[5, 6], details={"ratio": "9", "count": "3"}),
        create_time=_at(DAY + 1_234_567_891), status=risk_pb2.ALERT_STATUS_DISMISSED,
        reviewer_user_id="b1c2", review_time=_at(DAY + 3_600_000_000_000 + 500_000),
        review_note="hedge against an index position", review_count=3,
    )  # fmt: skip
    row = dict(zip(ALERT_COLUMNS, alert_row(alert), strict=True))
    assert row == {
        "create_time": "2026-12-07T14:30:01.234567Z",
        "alert_id": "12",
        "kind": "SPOOFING",
        "severity": "HIGH",
        "account_id": "ALICE",
        "symbol": "AAPL",
        "description": "3 large orders cancelled",
        "creator_user_id": "",
        "order_ids": "5 6",
        "trade_ids": "",
        "evidence_start": "",
        "evidence_end": "",
        "details": "count=3; ratio=9",
        "status": "DISMISSED",
        "reviewer_user_id": "b1c2",
        "review_time": "2026-12-07T15:30:00.000500Z",
        "review_note": "hedge against an index position",
        "review_count": "3",
    }


def test_an_alert_never_reviewed_is_open_with_empty_review_columns() -> None:
    alert = risk_pb2.Alert(
        alert_id="13", kind=risk_pb2.ALERT_KIND_MANUAL, severity=risk_pb2.ALERT_SEVERITY_LOW,
        description="desk call", create_time=_at(DAY), creator_user_id="o1",
        status=risk_pb2.ALERT_STATUS_OPEN,
    )  # fmt: skip
    row = dict(zip(ALERT_COLUMNS, alert_row(alert), strict=True))
    assert [row[name] for name in ALERT_COLUMNS[-5:]] == ["OPEN", "", "", "", "0"]
