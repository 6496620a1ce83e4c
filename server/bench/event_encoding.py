"""What the live flow from the core should carry: events, or the commands.

Decision 0003 rests on these three costs per command, measured on the same
seeded flow in one run (``python -m server.bench.event_encoding``):

- the engine's own work (what a replica repeats to derive the events);
- encoding each command's events for the wire (what the core would add to
  its one thread if consumers were sent events), with a generic encoder of
  the engine's NamedTuple events (type name, then the fields, enums as
  numbers: the shape the journal codec gives commands);
- decoding a journaled command (what a replica adds besides the engine).

The core already holds each command's encoded journal payload, so sending
commands costs it nothing beyond the socket writes that sending events
would cost as well.
"""

from __future__ import annotations

import gc
import sys
import time
from enum import IntEnum
from typing import Any

import orjson

from matching import Engine, Event
from server.bench.workload import generate, instruments
from server.journal.codec import decode, encode


def _plain(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return [type(value).__name__, *[_plain(field) for field in value]]
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def measure(count: int, seed: int = 1) -> dict[str, float]:
    """Microseconds per command for the engine, event encoding and command decoding."""
    commands = generate(count, seed)
    engine = Engine(instruments())
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        events: list[list[Event]] = [engine.process(command) for command in commands]
        engine_seconds = time.perf_counter() - started
        started = time.perf_counter()
        encoded = [orjson.dumps(_plain(batch)) for batch in events]
        encode_seconds = time.perf_counter() - started
        payloads = [encode(command) for command in commands]
        started = time.perf_counter()
        for payload in payloads:
            decode(payload)
        decode_seconds = time.perf_counter() - started
    finally:
        gc.enable()
    per = 1e6 / count
    return {
        "engine_us": engine_seconds * per,
        "encode_events_us": encode_seconds * per,
        "decode_command_us": decode_seconds * per,
        "events_per_command": sum(len(batch) for batch in events) / count,
        "event_bytes_per_command": sum(len(blob) for blob in encoded) / count,
        "command_bytes": sum(len(payload) for payload in payloads) / count,
    }


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 100_000
    for run in range(3):
        figures = measure(count)
        print(
            f"run {run}: engine {figures['engine_us']:.2f} µs/command, "
            f"encode its events {figures['encode_events_us']:.2f} µs "
            f"({figures['events_per_command']:.2f} events, "
            f"{figures['event_bytes_per_command']:.0f} B), "
            f"decode the command {figures['decode_command_us']:.2f} µs "
            f"({figures['command_bytes']:.0f} B)"
        )


if __name__ == "__main__":
    main(sys.argv)
