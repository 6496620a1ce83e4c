"""Every fuzz target, briefly, as part of ``make test``: it replays its
committed corpus, then fuzzes for a few seconds from a fixed seed.

Each target runs in a subprocess (``python -m tests.fuzz.run``): atheris
instruments the code it imports and libFuzzer ends the process on a crash,
neither of which may happen inside pytest. A crash fails the test with the
target's report, which holds the traceback and the input (also written to
pytest's temporary directory). ``make fuzz`` runs the same targets for longer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.run import TARGETS

pytest.importorskip(
    "atheris",
    reason="atheris has wheels for x86-64 Linux only; elsewhere install clang and "
    "libFuzzer, then `.venv/bin/pip install atheris` to build it",
)

ROOT = Path(__file__).parents[2]
CORPUS = Path(__file__).parent / "corpus"
SECONDS = 2
"""Fuzzing time per target after the replay (libFuzzer counts whole seconds)."""
RUNS = 200_000
"""A cap on inputs, for the fast targets."""


def run_target(target: str, work: Path, *options: str) -> subprocess.CompletedProcess[str]:
    (work / "corpus").mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            target,
            *options,
            "-timeout=10",
            f"-artifact_prefix={work}/",
            str(work / "corpus"),
            str(CORPUS / target),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_target_replays_its_corpus_and_survives_fuzzing(target: str, tmp_path: Path) -> None:
    seeds = [path for path in (CORPUS / target).iterdir() if path.is_file()]
    assert seeds, f"no corpus: run python -m tests.fuzz.corpus {target}"
    result = run_target(target, tmp_path, "-seed=1", f"-runs={RUNS}", f"-max_total_time={SECONDS}")
    report = "\n".join(
        line for line in result.stderr.splitlines() if not line.startswith("INFO: Instrumenting")
    )
    assert result.returncode == 0, report[-6000:]
    replayed = re.search(r"seed corpus: files: (\d+)", report)
    assert replayed is not None, report[-2000:]
    assert int(replayed.group(1)) == len(seeds)
    # Coverage feedback: a decoder loaded from a compiled extension module
    # (server/compiled.py) has no bytecode to instrument, and libFuzzer then
    # reports no "cov:" at all: it would be fuzzing blind.
    covered = re.search(r"INITED cov: (\d+)", report)
    assert covered is not None, "no coverage feedback: " + report[-2000:]
    assert int(covered.group(1)) > 0
    done = re.search(r"Done (\d+) runs", report)
    assert done is not None, report[-2000:]
    assert int(done.group(1)) > len(seeds), "it only replayed the corpus"
