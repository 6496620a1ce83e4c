"""`stx report latency`'s document from an answer built by hand: a row per
interval and one for the day, exact microseconds, and a PDF with the chart
that is the same bytes when made twice."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import analytics_pb2 as pb

from clients.latency_report import LATENCY_COLUMNS, latency_document, micros
from clients.report_pdf import render

NOON = 1_772_452_800 * 10**9  # 2026-03-02T12:00:00Z


def _line(start: int, count: int, *nanos: int) -> pb.LatencyPercentiles:
    stamp = Timestamp()
    stamp.FromNanoseconds(start)
    p50, p90, p99, largest = nanos
    return pb.LatencyPercentiles(
        start_time=stamp, command_count=count, p50_nanos=p50, p90_nanos=p90, p99_nanos=p99,
        max_nanos=largest,
    )  # fmt: skip


ANSWER = pb.GetLatencyPercentilesResponse(
    date="2026-03-02",
    interval_seconds=300,
    intervals=[
        _line(NOON, 3, 200_000, 300_000, 300_000, 300_000),
        _line(NOON + 300 * 10**9, 1, 1_000_499, 1_000_499, 1_000_499, 1_000_499),
    ],
    day=_line(NOON - 12 * 3600 * 10**9, 4, 200_000, 1_000_499, 1_000_499, 1_000_499),
)


def test_a_row_per_interval_and_the_day_in_exact_microseconds() -> None:
    document = latency_document(ANSWER, "")
    (section,) = document.sections
    assert section.columns == LATENCY_COLUMNS
    assert section.rows == [
        ["2026-03-02T12:00:00Z", "3", "200.000", "300.000", "300.000", "300.000"],
        ["2026-03-02T12:05:00Z", "1", "1000.499", "1000.499", "1000.499", "1000.499"],
        ["DAY", "4", "200.000", "1000.499", "1000.499", "1000.499"],
    ]
    (chart,) = document.charts
    assert [(series.name, series.values) for series in chart.series] == [
        ("p50", [200.0, 1000.499]), ("p99", [300.0, 1000.499]),
    ]  # fmt: skip
    assert ("gateway", "all") in document.parameters
    assert micros(-1_500) == "-1.500"


def test_the_pdf_is_the_same_when_made_twice() -> None:
    first = render(latency_document(ANSWER, "grpc"))
    assert first.startswith(b"%PDF-")
    assert b"/Subtype /Image" in first  # the chart
    assert render(latency_document(ANSWER, "grpc")) == first


def test_a_day_without_commands_has_no_rows_and_no_chart() -> None:
    quiet = pb.GetLatencyPercentilesResponse(date="2026-03-03", interval_seconds=60)
    document = latency_document(quiet, "")
    assert document.sections[0].rows == []
    assert document.charts == []
