"""promtool, run for real, on deploy/prometheus: the configuration, the rules
and the rules' unit tests (Debian's package `prometheus` provides promtool)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.catalogue import PROMETHEUS_DIR, RULE_FILES, RULE_TESTS

INSTALL_HINT = "needs promtool: apt-get install -y prometheus"


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(INSTALL_HINT)
    return subprocess.run(
        [promtool, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROMETHEUS_DIR,
    )


def test_config_is_valid_and_loads_every_rule_file() -> None:
    result = _promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_rules_are_valid() -> None:
    result = _promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    assert RULE_TESTS, "no promtool unit tests in deploy/prometheus/tests"
    result = _promtool("test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_failing_unit_test_fails(tmp_path: Path) -> None:
    """The run above can fail: a test expecting the latency alert from fast
    acknowledgements is reported as failed."""
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(
        f"rule_files: [{PROMETHEUS_DIR / 'rules' / 'stx-alerts.yml'}]\n"
        "tests:\n"
        "  - interval: 1m\n"
        "    input_series:\n"
        '      - series: \'stx_order_ack_seconds_bucket{transport="rest", le="0.001"}\'\n'
        "        values: '0+100x20'\n"
        '      - series: \'stx_order_ack_seconds_bucket{transport="rest", le="+Inf"}\'\n'
        "        values: '0+100x20'\n"
        "    alert_rule_test:\n"
        "      - eval_time: 15m\n"
        "        alertname: StxOrderAckLatencyHigh\n"
        "        exp_alerts: [{exp_labels: {severity: page, transport: rest}}]\n"
    )
    result = _promtool("test", "rules", wrong)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
