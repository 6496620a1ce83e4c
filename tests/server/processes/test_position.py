"""The projector's position reaches the core's pruning through a file."""

from __future__ import annotations

from pathlib import Path

from server.processes.position import (
    ANALYTICS_POSITION_FILE,
    RELAY_POSITION_FILE,
    PositionFile,
    needed_from,
)


def test_the_position_is_read_back_and_unknown_or_damaged_keeps_everything(
    tmp_path: Path,
) -> None:
    positions = PositionFile(tmp_path)
    assert positions.read() == 0  # no projector ever ran here: prune nothing
    positions.write(1234)
    assert PositionFile(tmp_path).read() == 1234
    positions.write(1300)
    assert positions.read() == 1300
    assert [path.name for path in tmp_path.iterdir()] == ["projector.position"]
    positions.path.write_text("12x")
    assert positions.read() == 0


def test_pruning_keeps_what_the_slower_of_projector_and_analytics_needs(tmp_path: Path) -> None:
    assert needed_from(tmp_path) == 0  # nobody ever ran: keep everything
    PositionFile(tmp_path).write(500)
    assert needed_from(tmp_path) == 500  # no analytics process here: it holds nothing back
    analytics = PositionFile(tmp_path, ANALYTICS_POSITION_FILE)
    analytics.write(200)
    assert needed_from(tmp_path) == 200
    analytics.write(900)
    assert needed_from(tmp_path) == 500
    analytics.path.write_text("damaged")
    assert needed_from(tmp_path) == 0


def test_pruning_keeps_what_the_relay_has_still_to_send(tmp_path: Path) -> None:
    PositionFile(tmp_path).write(500)
    PositionFile(tmp_path, ANALYTICS_POSITION_FILE).write(700)
    relay = PositionFile(tmp_path, RELAY_POSITION_FILE)
    relay.write(300)
    assert needed_from(tmp_path) == 300
    relay.write(800)
    assert needed_from(tmp_path) == 500


def test_with_the_projector_on_another_host_pruning_follows_the_relay(tmp_path: Path) -> None:
    """No projector ever ran beside the journal, a relay did: the store is
    projected elsewhere from the log, which keeps what the relay sent."""
    relay = PositionFile(tmp_path, RELAY_POSITION_FILE)
    relay.write(300)
    assert needed_from(tmp_path) == 300
    PositionFile(tmp_path, ANALYTICS_POSITION_FILE).write(200)
    assert needed_from(tmp_path) == 200
    PositionFile(tmp_path, ANALYTICS_POSITION_FILE).write(900)
    relay.write(800)
    assert needed_from(tmp_path) == 800
    PositionFile(tmp_path).write(500)  # a projector beside the journal after all
    assert needed_from(tmp_path) == 500
