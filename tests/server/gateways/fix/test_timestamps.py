"""FIX UTCTimestamps as seconds since the epoch; anything else is None."""

from __future__ import annotations

import pytest

from server.gateways.fix.admin import parse_timestamp, utc_timestamp

NOON = 1_796_644_800.0
"""2026-12-07 12:00:00 UTC."""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20261207-12:00:00", NOON),
        ("20261207-12:00:00.5", NOON + 0.5),
        ("20261207-12:00:00.123", NOON + 0.123),
        ("20261207-12:00:00.000001", NOON + 0.000001),
    ],
)
def test_timestamps_with_and_without_fractions(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "", "20261207", "20261207-12:00", "20261207 12:00:00", "2026-12-07T12:00:00",
        "20261307-12:00:00", "20261232-12:00:00", "20261207-24:00:00", "20261207-12:60:00",
        "20261207-12:00:60", "20261207-12:00:00.", "20261207-12:00:00.1234567",
        "20261207-12:00:00Z", "x20261207-12:00:00",
    ],
)  # fmt: skip
def test_anything_else_is_not_a_timestamp(text: str) -> None:
    assert parse_timestamp(text) is None


def test_what_we_write_reads_back() -> None:
    assert parse_timestamp(utc_timestamp(NOON + 1.25)) == NOON + 1.25
