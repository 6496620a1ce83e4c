"""The rules of deploy/prometheus against their tests, the metric catalogue
and deploy/README.md (promtool itself runs in test_promtool.py)."""

import re
from collections import defaultdict
from typing import Any

import pytest
import yaml

from tests.deploy.catalogue import (
    ROOT,
    RULE_TESTS,
    catalogue_from_markdown,
    recorded_names,
    referenced_names,
    rule_groups,
    unknown_names,
)


def _unit_tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = []
    for path in RULE_TESTS:
        tests.extend(yaml.safe_load(path.read_text())["tests"])
    return tests


def _alert_names() -> list[str]:
    return [str(rule["alert"]) for _, rule in rule_groups() if "alert" in rule]


def test_every_alert_is_tested_firing_and_quiet() -> None:
    """Each alert has a case where it fires and one where it must not."""
    outcomes: dict[str, set[bool]] = defaultdict(set)
    for test in _unit_tests():
        for case in test.get("alert_rule_test", []):
            outcomes[case["alertname"]].add(bool(case.get("exp_alerts")))
    untested = {name for name in _alert_names() if outcomes[name] != {True, False}}
    assert not untested, f"alerts without both a firing and a quiet test: {sorted(untested)}"


def test_every_recording_rule_is_tested() -> None:
    tested: set[str] = set()
    for test in _unit_tests():
        for case in test.get("promql_expr_test", []):
            tested |= referenced_names(case["expr"])
    assert recorded_names() - tested == set()


def test_alerts_have_a_severity_and_a_summary() -> None:
    for _, rule in rule_groups():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]


def test_alert_names_are_unique() -> None:
    names = _alert_names()
    assert len(names) == len(set(names))


def test_rules_query_only_catalogued_metrics() -> None:
    for path, rule in rule_groups():
        names = referenced_names(str(rule["expr"]))
        assert not unknown_names(names), f"{path.name}: {rule}: {unknown_names(names)}"


def test_unit_tests_feed_only_catalogued_metrics() -> None:
    """The input series are real names, so a renamed metric breaks the tests
    instead of leaving them green on series nothing exports."""
    for test in _unit_tests():
        for series in test.get("input_series", []):
            names = referenced_names(series["series"])
            assert not unknown_names(names), series["series"]


def test_readme_lists_every_alert() -> None:
    """deploy/README.md documents each alert's default threshold."""
    readme = (ROOT / "deploy" / "README.md").read_text()
    missing = [name for name in _alert_names() if f"`{name}`" not in readme]
    assert not missing


def test_unknown_names_are_reported() -> None:
    assert unknown_names(
        referenced_names("rate(stx_commands_total[1m]) + stx_made_up + process_open_fds")
    ) == {"stx_made_up"}
    assert unknown_names(referenced_names('{__name__=~"stx_.+"}')) == {""}
    assert unknown_names(referenced_names("stx_order_ack_seconds")) == {"stx_order_ack_seconds"}
    assert not unknown_names(referenced_names("stx_order_ack_seconds_count"))


def test_catalogue_table_is_parsed() -> None:
    text = """Intro.

| name | type | labels | meaning |
| --- | --- | --- | --- |
| `stx_a_seconds` | histogram | transport | a |
| stx_b_total | counter | | b |
| process_cpu_seconds_total, python_gc_collections_total, ... | standard | | collectors |

| name | type |
| --- | --- |
| stx_not_this_table | gauge |
"""
    assert catalogue_from_markdown(text) == {
        "stx_a_seconds": "histogram",
        "stx_b_total": "counter",
    }
    assert catalogue_from_markdown("| Metric | Type |\n| --- | --- |\n| stx_a | gauge |\n") == {
        "stx_a": "gauge"
    }
    with pytest.raises(ValueError, match=re.escape("no `| name | type |` table")):
        catalogue_from_markdown("| metric | kind |\n| --- | --- |\n| stx_a | gauge |\n")
