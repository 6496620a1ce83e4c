"""The relay's metrics: where the log stands against the journal."""

from __future__ import annotations

from server.metrics.exposition import port_of
from server.metrics.relay import RelayLag


def test_relay_lag_shows_the_log_falling_behind_and_stopping() -> None:
    now, held, sent, failures, following = [50.0], [5], [5], [0], [True]
    lag = RelayLag(
        lambda: held[0], lambda: sent[0], lambda: failures[0], lambda: following[0],
        clock=lambda: now[0],
    )  # fmt: skip
    lag.committed_to(30)
    now[0] = 52.5

    def values() -> dict[str, float]:
        return {s.name: s.value for family in lag.collect() for s in family.samples}

    assert values() == {
        "stx_relay_position": 5,
        "stx_relay_lag_records": 25,
        "stx_relay_lag_seconds": 2.5,
        "stx_relay_records_total": 5,
        "stx_relay_errors_total": 0,
        "stx_relay_following": 1,
    }
    held[0], sent[0], failures[0], following[0] = 30, 30, 2, False
    assert values() == {
        "stx_relay_position": 30,
        "stx_relay_lag_records": 0,
        "stx_relay_lag_seconds": 0.0,
        "stx_relay_records_total": 30,
        "stx_relay_errors_total": 2,
        "stx_relay_following": 0,
    }


def test_the_relay_has_a_metrics_port_of_its_own() -> None:
    assert port_of("relay", 9100) == 9109
    assert port_of("relay", 0) == 0
