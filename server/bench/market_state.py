"""What the market state costs a replica per command: ``MarketState.apply``
with its updates (the feed's and the gateway's work for every committed
command), on the engine benchmark's seeded flow.

``python -m server.bench.market_state [--commands N] [--against REV]``
prints microseconds of CPU per command; with ``--against``, also for
``feeds/market.py`` as commit REV has it, loaded beside this tree's, in
alternating rounds of the same process (compare the ratio: this machine is
noisy).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType

import feeds.market
from matching import Command, Event
from server.bench.engine_bench import fresh_engine
from server.bench.workload import generate

ROOT = Path(__file__).resolve().parents[2]


def _module_at(revision: str, scratch: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:feeds/market.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = scratch / "market_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("market_baseline", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_per_command(market: ModuleType, flow: list[tuple[Command, list[Event]]]) -> float:
    """Microseconds of CPU per command to apply ``flow`` with its updates."""
    state = market.MarketState.from_engine(fresh_engine(False))
    gc.disable()
    try:
        started = time.process_time()
        for sequence, (command, events) in enumerate(flow, 1):
            state.apply(sequence, command, events)
        return (time.process_time() - started) / len(flow) * 1e6
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=30_000)
    parser.add_argument("--against", metavar="REV")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args(argv)
    engine = fresh_engine(False)
    flow = [(command, engine.process(command)) for command in generate(arguments.commands, 7)]
    with tempfile.TemporaryDirectory() as scratch:
        baseline = _module_at(arguments.against, Path(scratch)) if arguments.against else None
        for number in range(1, arguments.rounds + 1):
            line = f"round {number}: this tree {cpu_per_command(feeds.market, flow):.1f} µs"
            if baseline is not None:
                theirs = cpu_per_command(baseline, flow)
                line += f", {arguments.against} {theirs:.1f} µs per command"
            print(line)


if __name__ == "__main__":
    main()
