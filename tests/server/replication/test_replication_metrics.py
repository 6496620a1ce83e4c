"""Replication's series as a scrape shows them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from server.metrics.replication import ReplicationLag


def test_the_primary_shows_lag_step_degradation_and_refusals() -> None:
    registry = CollectorRegistry()
    registry.register(ReplicationLag(lambda: (12, 0.25), lambda: False, lambda: True, lambda: 3))
    text = generate_latest(registry).decode()
    assert "stx_replication_lag_records 12.0" in text
    assert "stx_replication_lag_seconds 0.25" in text
    assert "stx_replication_in_step 0.0" in text
    assert "stx_replication_degraded 1.0" in text
    assert "stx_replication_refused_commands_total 3.0" in text


def test_the_standby_shows_only_its_lag() -> None:
    registry = CollectorRegistry()
    registry.register(ReplicationLag(lambda: (0, 0.0)))
    text = generate_latest(registry).decode()
    assert "stx_replication_lag_records 0.0" in text
    assert "stx_replication_in_step" not in text
