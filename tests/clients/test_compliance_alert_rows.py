"""The surveillance alerts report's rows, resolution columns included,
against values worked out by hand from one reviewed and one open alert, and
the report made by `stx report compliance alerts` from an exchange."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner, Result
from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import options_pb2, risk_pb2, risk_pb2_grpc

from clients.compliance_report import ALERT_COLUMNS, alert_row
from clients.report import report
from tests.server.local import local_settings
from tests.server.transport.running import RunningExchange


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


def test_the_alerts_report_has_the_resolution_as_csv_parquet_and_pdf(tmp_path: Path) -> None:
    """Against an exchange: one alert dismissed after review, one left open;
    the report's resolution columns are what the reviews set."""
    with RunningExchange(local_settings(tmp_path / "exchange", auth_required=True)) as exchange:
        assert exchange.tokens is not None
        token, _ = exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))
        target = f"127.0.0.1:{exchange.port}"
        officer = (("authorization", f"Bearer {token}"),)
        with grpc.insecure_channel(target) as channel:
            risk = risk_pb2_grpc.RiskServiceStub(channel)
            filed = [
                risk.CreateAlert(
                    risk_pb2.CreateAlertRequest(
                        severity=risk_pb2.ALERT_SEVERITY_MEDIUM, description=text
                    ),
                    metadata=officer, timeout=10,
                ).alert
                for text in ("quotes pulled", "odd prints")
            ]  # fmt: skip
            for status, note in (
                (risk_pb2.ALERT_STATUS_UNDER_REVIEW, ""),
                (risk_pb2.ALERT_STATUS_DISMISSED, "market maker hedging, per the desk"),
            ):
                request = risk_pb2.ResolveAlertRequest(
                    alert_id=filed[0].alert_id, status=status, note=note
                )
                last = risk.ResolveAlert(request, metadata=officer, timeout=10).alert

        def made(*arguments: str) -> Result:
            return CliRunner().invoke(
                report,
                ["compliance", "alerts", "--date", datetime.now(UTC).date().isoformat(),
                 *arguments, "--target", target, "--plaintext"],
                env={"STX_TOKEN": token},
            )  # fmt: skip

        listed = made()
        assert listed.exit_code == 0, listed.output
        rows = {row["alert_id"]: row for row in csv.DictReader(io.StringIO(listed.output))}
        dismissed, still_open = rows[filed[0].alert_id], rows[filed[1].alert_id]
        review_time = last.review_time.ToDatetime(tzinfo=UTC)
        assert {name: dismissed[name] for name in ALERT_COLUMNS[-5:]} == {
            "status": "DISMISSED",
            "reviewer_user_id": "officer",
            "review_time": review_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "review_note": "market maker hedging, per the desk",
            "review_count": "2",
        }
        assert [still_open[name] for name in ALERT_COLUMNS[-5:]] == ["OPEN", "", "", "", "0"]
        for suffix in ("parquet", "pdf"):
            written = made("--out", str(tmp_path / f"alerts.{suffix}"))
            assert written.exit_code == 0, written.output
    table = pq.read_table(tmp_path / "alerts.parquet")
    assert table.schema.field("review_count").type == pa.int64()
    assert sorted(table.column("review_count").to_pylist()) == [0, 2]
    assert (tmp_path / "alerts.pdf").read_bytes().startswith(b"%PDF")
