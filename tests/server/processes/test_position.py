"""The projector's position reaches the core's pruning through a file."""

from __future__ import annotations

from pathlib import Path

from server.processes.position import PositionFile


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
