"""``python -m server.bench.market_state`` on a tiny flow, so it cannot rot."""

import shutil
import subprocess

import pytest

from server.bench.market_state import main


def test_the_market_state_benchmark_measures_this_tree_against_a_commit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    inside = (
        shutil.which("git")
        and not subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, check=False
        ).returncode
    )
    if not inside:
        pytest.skip("--against needs git (apt-get install git) and a checkout of the repository")
    main(["--commands", "300", "--rounds", "2", "--against", "HEAD"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["round 1", "round 2"]
    for line in lines:
        assert "this tree" in line
        assert "HEAD" in line
        assert line.endswith("µs per command")
