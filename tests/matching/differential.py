"""One seeded flow through the engine, reduced to a digest that the compiled
and the pure build must agree on (tests/matching/test_builds.py).

Run as ``python -m tests.matching.differential COUNT SEED CONTROLS`` it prints
the digest as JSON; ``STX_PURE_ENGINE=1`` in its environment makes that the
pure build's.
"""

from __future__ import annotations

import hashlib
import json
import sys

import matching
from server.bench.engine_bench import fresh_engine
from server.bench.workload import generate


def digest(count: int, seed: int, controls: bool) -> dict[str, str | int]:
    """The build that ran, and what ``stx bench engine``'s seeded flow gives
    in it: every event (as its repr, enum members by name), and the final state."""
    engine = fresh_engine(controls)
    events = hashlib.sha256()
    total = 0
    for command in generate(count, seed):
        for event in engine.process(command):
            events.update(repr(event).encode())
            events.update(b"\n")
            total += 1
    engine.check_invariants()
    return {
        "build": matching.BUILD,
        "events": total,
        "events_sha256": events.hexdigest(),
        "state_hash": engine.state_hash(),
    }


if __name__ == "__main__":
    count, seed, controls = (int(argument) for argument in sys.argv[1:4])
    print(json.dumps(digest(count, seed, bool(controls))))
