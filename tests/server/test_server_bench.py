"""How ``stx bench server`` orders its runs and compares them (fake measurements)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from matching.build import PURE_ENV
from server.bench.server_bench import Load, cpu_figures, describe, run
from server.bench.sources import Source, this_tree
from server.compiled import SOURCES, module_name, pure_modules

LOAD = Load(rate=1000, duration=1)


class _Recorder:
    """Fake measurements: each server run's figures depend on which code ran."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, bool]] = []

    def server(self, source: Source, load: Load, tls: bool) -> dict[str, Any]:
        self.runs.append((source.label, tls))
        slow = 2 if source.label == "this tree" else 1
        return {
            "code": source.label, "commit": source.commit, "tls": tls,
            "orders_per_sec": 1000 / slow, "p50_us": 1000 * slow, "p90_us": 2000 * slow,
            "p99_us": 4000 * slow, "p999_us": 8000 * slow, "max_us": 9000 * slow,
            "cpu_us_per_order": 500 * slow, "errors": 0,
        }  # fmt: skip

    def floor(self, load: Load, tls: bool) -> dict[str, Any]:
        self.runs.append(("floor", tls))
        return {"tls": tls, "messages_per_sec": load.rate, "p50_us": 500, "p99_us": 1000,
                "p999_us": 2000, "max_us": 3000}  # fmt: skip


def _checkout(tls: bool) -> Any:
    @contextmanager
    def checkout(revision: str) -> Iterator[Source]:
        yield Source(revision, "0123456789", Path("/nonexistent"), tls, "/nonexistent", "pure")

    return checkout


def test_rounds_alternate_which_side_runs_first_and_ratios_take_medians() -> None:
    recorder = _Recorder()
    report = run(LOAD, tls=True, repeat=3, baseline="HEAD~1", server=recorder.server,
                 floor=recorder.floor, checkout=_checkout(tls=True))  # fmt: skip
    assert recorder.runs == [
        ("this tree", True), ("HEAD~1", True), ("floor", True),
        ("HEAD~1", True), ("this tree", True), ("floor", True),
        ("this tree", True), ("HEAD~1", True), ("floor", True),
    ]  # fmt: skip
    assert [entry["first"] for entry in report["rounds"]] == ["server", "baseline", "server"]
    assert report["median_ratios"] == {
        "orders_per_sec": 0.5, "p50_us": 2.0, "p99_us": 2.0, "p999_us": 2.0,
        "cpu_us_per_order": 2.0,
    }  # fmt: skip
    assert report["median_p99_to_floor"] == {"baseline": 4.0, "server": 8.0}
    assert report["tls"] is True
    assert report["baseline"] == {"revision": "HEAD~1", "commit": "0123456789", "build": "pure"}
    assert report["build"] == this_tree().build
    assert any("this tree / baseline" in line for line in describe(report))


def test_a_baseline_without_tls_is_compared_in_plaintext_on_both_sides() -> None:
    recorder = _Recorder()
    report = run(LOAD, tls=True, baseline="74cc860", server=recorder.server,
                 floor=recorder.floor, checkout=_checkout(tls=False))  # fmt: skip
    assert {tls for _, tls in recorder.runs} == {False}
    assert report["tls"] is False
    assert "74cc860 has no TLS" in report["note"]


def test_without_a_baseline_each_round_is_the_server_then_the_floor() -> None:
    recorder = _Recorder()
    report = run(LOAD, tls=False, repeat=2, server=recorder.server, floor=recorder.floor)
    assert recorder.runs == [("this tree", False), ("floor", False)] * 2
    assert "median_ratios" not in report
    assert all("ratios" not in entry for entry in report["rounds"])


@pytest.mark.parametrize(
    ("load", "reason"),
    [({"rate": 0, "duration": 1}, "must be positive"),
     ({"rate": 1, "duration": 1, "batch": 0}, "must be positive"),
     ({"rate": 1, "duration": 1, "cancel": 1.5}, "a share between 0 and 1")],
)  # fmt: skip
def test_a_load_that_cannot_run_is_refused(load: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Load(**load)


def test_cpu_per_order_counts_a_child_that_ended_during_the_load_once() -> None:
    # The server (1) spent 1.0 s itself; its child (2) had spent 2.0 s before
    # the load and 0.5 s during it, then ended: its 2.5 s moved into 1's figure.
    before = {1: ("python3 stx serve", 1.0), 2: ("python3 stx serve", 2.0)}
    after = {1: ("python3 stx serve", 1.0 + 1.0 + 2.5), 3: ("python3", 0.25)}
    figures = cpu_figures(before, after, orders=1000)
    assert figures["cpu_seconds"] == 1.75
    assert figures["cpu_us_per_order"] == 1750
    assert figures["cpu_by_process"] == [
        {"pid": 1, "process": "python3 stx serve", "cpu_us_per_order": 3500},
        {"pid": 3, "process": "python3", "cpu_us_per_order": 250},
    ]


def test_this_tree_says_which_of_its_modules_load_compiled() -> None:
    build = this_tree().build
    if os.environ.get(PURE_ENV):
        assert build == f"pure ({PURE_ENV})"
    elif pure_modules():
        assert build.endswith("server pure"), build
    else:
        names = [module_name(source) for source in SOURCES]
        assert build.endswith("compiled: " + ", ".join(sorted(names))), build
