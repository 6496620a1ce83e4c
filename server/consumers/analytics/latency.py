"""Latency over the day: percentiles per interval of the time from a gateway
making a command to the core's sequencer stamping it (the store's
``latencies``, from the times the journal keeps with each command's origin).

Deterministic and reproducible from the journal like every other report:
the same journal gives the same figures. Percentiles are nearest-rank
(DuckDB's ``quantile_disc``): always one of the measured values, no
interpolation.
"""

from __future__ import annotations

import datetime
from typing import Any

import duckdb
from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import analytics_pb2 as pb

from server.consumers.analytics.facts import DAY_NANOS

_SECOND = 1_000_000_000
_FIGURES = """
count(*), quantile_disc(latency_nanos, [0.5, 0.9, 0.99]), max(latency_nanos)
FROM latencies WHERE day = $day{only}
"""


def _figures(start: int, row: tuple[Any, ...]) -> pb.LatencyPercentiles:
    count, quantiles, largest = row[-3:]
    stamp = Timestamp()
    stamp.FromNanoseconds(start)
    line = pb.LatencyPercentiles(start_time=stamp, command_count=count)
    if count:  # else the quantiles and the largest are NULL
        line.p50_nanos, line.p90_nanos, line.p99_nanos = quantiles
        line.max_nanos = largest
    return line


def latency_percentiles(
    reader: duckdb.DuckDBPyConnection, day: datetime.date, interval_seconds: int, gateway: str
) -> pb.GetLatencyPercentilesResponse:
    """The percentiles of ``day`` per ``interval_seconds`` from midnight UTC
    and for the whole day, over every gateway's commands or ``gateway``'s."""
    midnight = (day - datetime.date(1970, 1, 1)).days * DAY_NANOS
    width = interval_seconds * _SECOND
    parameters: dict[str, object] = {"day": day}
    only = ""
    if gateway:
        parameters["gateway"] = gateway
        only = " AND gateway = $gateway"
    figures = _FIGURES.format(only=only)
    rows = reader.execute(
        f"SELECT (sequenced_time - {midnight}) // {width} AS slot, {figures} "
        "GROUP BY slot ORDER BY slot",
        parameters,
    ).fetchall()
    whole = reader.execute(f"SELECT {figures}", parameters).fetchone()
    assert whole is not None  # an aggregate always answers
    return pb.GetLatencyPercentilesResponse(
        date=day.isoformat(),
        interval_seconds=interval_seconds,
        intervals=[_figures(midnight + int(row[0]) * width, row) for row in rows],
        day=_figures(midnight, whole),
    )
