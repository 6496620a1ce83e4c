"""Engine builds side by side: compiled against pure, or one checkout against another.

``python -m server.bench.engine_builds TREE[:pure] ... [--commands N] [--rounds R]``
measures each tree's engine on ``stx bench engine``'s seeded flow in a child
interpreter started in that tree (so its ``matching`` is the one imported),
``:pure`` with ``STX_PURE_ENGINE=1``, alternating tree by tree for ``R``
rounds, and prints each round and then every tree's best and median. Each
round reports the best of three passes over the same commands. On a shared
machine only figures of one run compare, as ratios (docs/performance.md).

A tree is a directory holding ``matching/`` (built in place with ``python
setup.py build_ext --inplace`` to be compiled) and ``server/bench/``: this
checkout, or an exported older commit (``git archive``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from matching.build import PURE_ENV

_CHILD = """
import gc, json, sys, time
import matching
from server.bench.engine_bench import fresh_engine
from server.bench.workload import generate
count, controls = int(sys.argv[1]), sys.argv[2] == "1"
commands = generate(count, 1)
best = 0.0
for _ in range(3):
    process = fresh_engine(controls).process
    gc.collect()
    gc.freeze()
    start = time.perf_counter_ns()
    for command in commands:
        process(command)
    best = max(best, count * 1e9 / (time.perf_counter_ns() - start))
print(json.dumps([matching.BUILD, best]))
"""


def measure(tree: str, commands: int, controls: bool) -> tuple[str, float]:
    """The build that ran in ``tree`` (``DIR`` or ``DIR:pure``) and its best commands/s."""
    directory, _, mode = tree.partition(":")
    env = dict(os.environ)
    env.pop(PURE_ENV, None)
    if mode == "pure":
        env[PURE_ENV] = "1"
    output = subprocess.run(
        [sys.executable, "-c", _CHILD, str(commands), str(int(controls))],
        cwd=directory,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    build, rate = json.loads(output)
    return str(build), float(rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs="+", help="DIR or DIR:pure")
    parser.add_argument("--commands", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--controls", action="store_true")
    arguments = parser.parse_args()
    rates: dict[str, list[float]] = {tree: [] for tree in arguments.trees}
    for round_ in range(arguments.rounds):
        for tree in arguments.trees:
            build, rate = measure(tree, arguments.commands, arguments.controls)
            rates[tree].append(rate)
            print(f"round {round_}  {tree:<40} {build:<9} {rate:>12,.0f}", flush=True)
    for tree, values in rates.items():
        print(f"{tree:<40} best {max(values):>12,.0f}  median {statistics.median(values):>12,.0f}")


if __name__ == "__main__":
    main()
