"""``stx report latency``: the latency percentiles of a day per interval (the
time from a gateway making a command to the core's sequencer stamping it,
from the journal), as a table, CSV, Parquet or a PDF with p50 and p99 over
the day (docs/compliance.md, "Latency over the day")."""

from __future__ import annotations

from datetime import UTC

import click
from stocktraderx.v1 import analytics_pb2

from clients.compliance_report import date_option, format_option, out_option
from clients.connect import client, target_option
from clients.report_files import deliver
from clients.report_model import Chart, Report, Section, Series
from clients.transport import ClientTls, tls_options

LATENCY_COLUMNS = (
    "interval_start", "command_count", "p50_micros", "p90_micros", "p99_micros", "max_micros",
)  # fmt: skip


@click.command("latency")
@date_option
@click.option("--interval", default=300, show_default=True, type=click.IntRange(1, 86_400),
              help="The intervals' length in seconds, from midnight UTC.")  # fmt: skip
@click.option("--gateway", default="", help="Only this gateway's commands (grpc, rest, fix).")
@format_option
@out_option
@target_option
@tls_options
def latency(
    date: str,
    interval: int,
    gateway: str,
    output: str | None,
    out: str,
    target: str,
    tls: ClientTls,
) -> None:
    """Gateway-to-sequencer latency percentiles of the day per interval
    (risk officers and administrators)."""
    with client(target, tls) as exchange:
        answer = exchange.latency_percentiles(date, interval, gateway)
    deliver(latency_document(answer, gateway), output, out)


def latency_document(answer: analytics_pb2.GetLatencyPercentilesResponse, gateway: str) -> Report:
    """The report of ``answer``: a row per interval and one for the day, and
    p50 and p99 over the day."""
    date, interval = answer.date, answer.interval_seconds
    rows = [latency_row(line) for line in answer.intervals]
    if answer.day.command_count:
        rows.append(["DAY", *latency_row(answer.day)[1:]])
    times = [latency_row(line)[0] for line in answer.intervals]
    chart = Chart(
        f"Latency per {interval} s interval, gateway to sequencer", "line",
        [Series(name, times, [getattr(line, field) / 1_000 for line in answer.intervals])
         for name, field in (("p50", "p50_nanos"), ("p99", "p99_nanos"))],
        "microseconds",
    )  # fmt: skip
    return Report(
        f"Latency on {date}", date,
        [("day (UTC)", date), ("interval", f"{interval} s"), ("gateway", gateway or "all")],
        [Section("Intervals", LATENCY_COLUMNS, rows)],
        integers=frozenset({"command_count"}), charts=[chart] if times else [],
        notes=[
            "From the gateway making each command to the core's sequencer stamping it, both "
            "as journaled; percentiles are nearest-rank (measured values). Commands journaled "
            "before the gateway's time was kept have none.",
            "Fields are documented in docs/compliance.md.",
        ],
    )  # fmt: skip


def latency_row(line: analytics_pb2.LatencyPercentiles) -> list[str]:
    start = line.start_time.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        start, str(line.command_count), *(
            micros(nanos)
            for nanos in (line.p50_nanos, line.p90_nanos, line.p99_nanos, line.max_nanos)
        ),
    ]  # fmt: skip


def micros(nanos: int) -> str:
    """Nanoseconds as microseconds with 3 decimal places, exactly: 1234567 -> "1234.567"."""
    sign = "-" if nanos < 0 else ""
    whole, fraction = divmod(abs(nanos), 1_000)
    return f"{sign}{whole}.{fraction:03d}"
