"""``stx bench ipc``: the transports between the processes of the split exchange.

Two flows, each between real processes on this machine, every candidate in
the same run, one after the other, so that their figures share the machine's
load (compare them as ratios, and repeat):

- ``commands`` (``ipc_commands``): a gateway sends the journal codec's
  compact commands to the core and waits for their reports; one command a
  message at ``rate`` a second (latency), and batches of 100 with four
  batches in flight (throughput);
- ``fanout`` (``ipc_fanout``): the core hands committed batches to
  ``consumers`` processes; one command a batch at ``rate`` batches a second
  (what one order stream's group commits look like), and batches of 100 as
  fast as the core can publish them.

Each candidate reports CPU time per command or batch on each side
(``process_time``: every thread of the process), not only latency; with
``repeats`` the figures are the medians of the runs.
"""

from __future__ import annotations

import statistics
from typing import Any

from server.bench import ipc_commands, ipc_fanout
from server.bench.ipc_frames import payloads

BATCH = 100
WINDOW = 4
"""Command batches a gateway keeps in flight in the throughput run."""


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [run[key] for run in runs]
        if isinstance(first, bool):
            merged[key] = all(values)
        elif isinstance(first, int):
            merged[key] = int(statistics.median(values))
        else:
            merged[key] = round(statistics.median(values), 2)
    return merged


def measure(
    rate: float,
    duration: float,
    consumers: int,
    repeats: int = 1,
    slow: bool = False,
    only: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Every candidate of both flows (or those named in ``only``), ``repeats``
    times, interleaved."""
    unknown = only - {*ipc_commands.CANDIDATES, *ipc_fanout.CANDIDATES}
    if unknown:
        raise ValueError(f"no transport named {', '.join(sorted(unknown))}")
    flow = payloads(2000)
    count = max(1, int(rate * duration))
    commands: dict[str, list[dict[str, Any]]] = {}
    fanout: dict[str, list[dict[str, Any]]] = {}
    for _ in range(repeats):
        for kind in _chosen(ipc_commands.CANDIDATES, only):
            one = ipc_commands.run(kind, "latency", flow, rate=rate, count=count)
            batched = ipc_commands.run(
                kind, "throughput", flow, batch=BATCH, window=WINDOW, duration=duration
            )
            commands.setdefault(kind, []).append(_prefixed(one, batched))
        for kind in _chosen(ipc_fanout.CANDIDATES, only):
            one, batched = (
                ipc_fanout.run(kind, flow, batch=batch, batches_per_sec=per_sec,
                               duration=duration, consumers=consumers, slow=slow)
                for batch, per_sec in ((1, rate), (BATCH, 0))
            )  # fmt: skip
            fanout.setdefault(kind, []).append(_prefixed(one, batched))
    return {
        "rate": rate,
        "duration": duration,
        "consumers": consumers,
        "slow_consumer": slow,
        "repeats": repeats,
        "payload_bytes": round(statistics.mean(map(len, flow)), 1),
        "commands": {kind: _median(runs) for kind, runs in commands.items()},
        "fanout": {kind: _median(runs) for kind, runs in fanout.items()},
    }


def _chosen(candidates: tuple[str, ...], only: frozenset[str]) -> tuple[str, ...]:
    return tuple(kind for kind in candidates if not only or kind in only)


def _prefixed(one: dict[str, Any], batched: dict[str, Any]) -> dict[str, Any]:
    """One flat record: ``one_*`` for one command a message, ``batch_*`` for 100."""
    return {
        **{f"one_{key}": value for key, value in one.items()},
        **{f"batch_{key}": value for key, value in batched.items()},
    }


def table(figures: dict[str, Any]) -> list[str]:
    """The figures as two Markdown tables (as docs/decisions/0002 shows them);
    the core's CPU is the whole process's, its event loop thread's in brackets."""
    lines = [
        "| gateway -> core | one/msg p50 us | p99 us | core CPU us/cmd | gateway CPU us/cmd "
        "| batched cmds/s | core CPU us/cmd | gateway CPU us/cmd |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in figures["commands"].items():
        lines.append(
            f"| {kind} | {row['one_p50_us']} | {row['one_p99_us']} "
            f"| {row['one_core_cpu_us_per_command']} ({row['one_core_loop_cpu_us_per_command']}) "
            f"| {row['one_gateway_cpu_us_per_command']} "
            f"| {row['batch_commands_per_sec']:,.0f} "
            f"| {row['batch_core_cpu_us_per_command']} "
            f"({row['batch_core_loop_cpu_us_per_command']}) "
            f"| {row['batch_gateway_cpu_us_per_command']} |"
        )
    lines += [
        "",
        "| core -> consumers | one/batch p50 us | p99 us | core CPU us/batch "
        "| consumer CPU us/record | batched delivered rec/s | core CPU us/batch "
        "| consumer CPU us/record | caught up from journal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in figures["fanout"].items():
        lines.append(
            f"| {kind} | {row['one_p50_us']} | {row['one_p99_us']} "
            f"| {row['one_core_cpu_us_per_batch']} ({row['one_core_loop_cpu_us_per_batch']}) "
            f"| {row['one_consumer_cpu_us_per_record']} "
            f"| {row['batch_delivered_per_sec']:,.0f} "
            f"| {row['batch_core_cpu_us_per_batch']} ({row['batch_core_loop_cpu_us_per_batch']}) "
            f"| {row['batch_consumer_cpu_us_per_record']} "
            f"| {row['one_caught_up_records']} / {row['batch_caught_up_records']} |"
        )
    return lines
