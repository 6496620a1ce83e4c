"""Fuzz every target (or those named) for longer: ``make fuzz``.

    python -m tests.fuzz.campaign [--seconds N] [TARGET ...]

Each target runs for ``--seconds`` (``FUZZ_SECONDS`` in make) from its
committed corpus plus what earlier campaigns found. New interesting inputs
go to ``fuzz-work/<target>/`` (kept between runs, never committed: copy one
into ``tests/fuzz/corpus/<target>/`` by hand if it deserves to be replayed by
every ``make test``); a crashing input goes to ``fuzz-crashes/<target>-crash-*``
and libFuzzer's report to ``fuzz-work/<target>.log``. Replay a crash with
``python -m tests.fuzz.run TARGET fuzz-crashes/<file>``. Prints inputs per
second and what was found; exits 1 if any target crashed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from tests.fuzz.run import TARGETS

ROOT = Path(__file__).parents[2]
CORPUS = Path(__file__).parent / "corpus"


def fuzz(target: str, seconds: int, work: Path, crashes: Path) -> bool:
    """Run one target; True if it survived."""
    found = work / target
    found.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    before = sum(1 for _ in found.iterdir())
    log = work / f"{target}.log"
    with log.open("w") as output:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.fuzz.run",
                target,
                f"-max_total_time={seconds}",
                "-timeout=10",
                f"-artifact_prefix={crashes}/{target}-",
                str(found),
                str(CORPUS / target),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = log.read_text(errors="replace")
    done = re.search(r"Done (\d+) runs in (\d+) second", text)
    rate = f"{int(done.group(1)) // max(int(done.group(2)), 1)} inputs/s" if done else "?"
    new = sum(1 for _ in found.iterdir()) - before
    verdict = "ok" if result.returncode == 0 else f"CRASHED (see {log}, input in {crashes})"
    print(f"{target}: {verdict}; {rate}; {new} new corpus inputs in {found}", flush=True)
    return result.returncode == 0


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default all)")
    parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    parser.add_argument("--work", type=Path, default=ROOT / "fuzz-work")
    parser.add_argument("--crashes", type=Path, default=ROOT / "fuzz-crashes")
    options = parser.parse_args(argv)
    unknown = set(options.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; targets: {', '.join(TARGETS)}")
    survived = [
        fuzz(target, options.seconds, options.work.resolve(), options.crashes.resolve())
        for target in options.targets or TARGETS
    ]
    sys.exit(0 if all(survived) else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
