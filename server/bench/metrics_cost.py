"""What recording the metrics costs the core: its throughput with and without.

Two cores (``ExchangeCore`` and its ``CoreLinkServer``, durability ``none``
so the disk's noise cannot hide the CPU spent) take the same journaled
commands through the link's real entry point, ``CoreLinkServer.submit``, in
frames of ``frame`` commands, each followed by ``commit_now`` as a read from
a gateway is. One core is instrumented as ``stx serve core`` instruments it
(``server.processes.core.instrument``), the other not; they take turns, a
round each, so both see the same book sizes and the same machine load. Only
the submit and commit are timed, in CPU time of the event loop's thread
(``thread_time``: the machine's other processes do not count); the
commands are drawn and encoded before. The cost is the median over rounds
of the instrumented core's time over the other's, minus one.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path

from prometheus_client.registry import REGISTRY

from matching import Engine
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import encode
from server.link.listener import CoreLinkServer
from server.processes.core import instrument
from server.runtime import settle_heap


class _Gateway:
    """Stands for a gateway's connection: the RESULT frames are dropped."""

    def __init__(self) -> None:
        self.awaiting: deque[tuple[int, bytes]] = deque()

    def send(self, frame: bytes) -> None:
        del frame


def commands(count: int, seed: int) -> list[bytes]:
    """``count`` encoded commands of the benchmark's order flow, drawn against an engine."""
    engine = Engine(instruments())
    flow = OrderFlow(engine, seed)
    payloads = []
    for _ in range(count):
        command = flow.next_command()
        flow.observe(engine.process(command))
        payloads.append(encode(command))
    return payloads


async def _measure(count: int, frame: int, rounds: int, seed: int) -> dict[str, float]:
    payloads = commands(count, seed)
    chunks = [payloads[i : i + frame] for i in range(0, len(payloads), frame)]
    per_round = max(1, len(chunks) // rounds)
    with tempfile.TemporaryDirectory(prefix="stx-bench-metrics-") as scratch:
        cores, links = [], []
        for name in ("off", "on"):
            core = ExchangeCore.open(
                Path(scratch) / name, instruments(), durability=Durability.NONE,
                snapshot_every=10**12,
            )  # fmt: skip
            await core.start()
            cores.append(core)
            links.append(CoreLinkServer(core, Path(scratch) / f"{name}.sock"))
        collectors = instrument(cores[1], links[1])
        seconds: dict[str, list[float]] = {"off": [], "on": []}
        settle_heap()
        try:
            for start in range(0, len(chunks), per_round):
                # Alternate which goes first, so neither always follows the other.
                order = (0, 1) if (start // per_round) % 2 == 0 else (1, 0)
                for index in order:
                    link, gateway = links[index], _Gateway()
                    sequencer = cores[index].sequencer
                    began = time.thread_time()
                    for chunk in chunks[start : start + per_round]:
                        link.submit(gateway, 1, chunk)  # type: ignore[arg-type]
                        sequencer.commit_now()
                    seconds["off" if index == 0 else "on"].append(time.thread_time() - began)
                    await sequencer.durable()
        finally:
            for collector in collectors:
                REGISTRY.unregister(collector)
            for core in cores:
                await core.close(final_snapshot=False)
    commands_per_round = per_round * frame
    off = statistics.median(commands_per_round / s for s in seconds["off"])
    on = statistics.median(commands_per_round / s for s in seconds["on"])
    return {
        "off": off,
        "on": on,
        "cost_percent": (off - on) / off * 100,
        "rounds": len(seconds["on"]),
    }


def measure(count: int, frame: int, rounds: int, seed: int) -> dict[str, float]:
    """Median commands per second of each core over the rounds, and the cost in %."""
    return asyncio.run(_measure(count, frame, rounds, seed))


if __name__ == "__main__":
    # python -m server.bench.metrics_cost [commands] [frame] [rounds]
    import sys

    arguments = [int(value) for value in sys.argv[1:4]]
    count, frame, rounds = arguments + [200_000, 10, 40][len(arguments) :]
    result = measure(count, frame, rounds, seed=1)
    print(
        f"commands/s without metrics {result['off']:.0f}, with {result['on']:.0f}; "
        f"cost {result['cost_percent']:.2f}% (median of {result['rounds']:.0f} paired rounds)"
    )
