"""What recording the metrics costs the core: its throughput with and without.

One core (``ExchangeCore`` and its ``CoreLinkServer``, durability ``none``
so the disk's noise cannot hide the CPU spent) takes journaled commands
through the link's real entry point, ``CoreLinkServer.submit``, in frames of
``frame`` commands, each followed by ``commit_now`` as a read from a gateway
is. Rounds go in pairs, one with the instruments ``stx serve core`` attaches
(``server.processes.core.CoreInstruments``) and one without, so both see
nearly the same books, the same memory and the same machine load. (Two
cores, one instrumented, differed by up to 3% with nothing attached.) Only
the submit and commit are timed, in CPU time of the event loop's thread
(``thread_time``: the machine's other processes do not count); the
commands are drawn and encoded before. The cost is the instrumented rounds'
total CPU time over the others', minus one.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import deque
from pathlib import Path

from matching import Engine
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import encode
from server.link.listener import CoreLinkServer
from server.processes.core import CoreInstruments
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
    per_round = max(1, len(chunks) // (2 * rounds))
    seconds: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="stx-bench-metrics-") as scratch:
        core = ExchangeCore.open(
            Path(scratch), instruments(), durability=Durability.NONE, snapshot_every=10**12
        )
        await core.start()
        link = CoreLinkServer(core, Path(scratch) / "core.sock")
        instruments_ = CoreInstruments(core, link)
        sequencer, gateway = core.sequencer, _Gateway()
        settle_heap()
        try:
            starts = range(0, len(chunks) - 2 * per_round + 1, 2 * per_round)
            for number, start in enumerate(starts):
                # Alternate which half of the pair is instrumented, so neither
                # always follows the other.
                for half, on in enumerate((number % 2 == 0, number % 2 == 1)):
                    if on:
                        instruments_.attach()
                    began = time.thread_time()
                    first = start + half * per_round
                    for chunk in chunks[first : first + per_round]:
                        link.submit(gateway, 1, chunk)  # type: ignore[arg-type]
                        sequencer.commit_now()
                    seconds[on].append(time.thread_time() - began)
                    await sequencer.durable()
                    gateway.awaiting.clear()
                    if on:
                        instruments_.detach()
        finally:
            await core.close(final_snapshot=False)
    per_second = per_round * frame
    # Many short rounds, alternating: the two sides draw from the same stretch
    # of the order flow and the same machine, so their totals compare.
    return {
        "off": per_second * len(seconds[False]) / sum(seconds[False]),
        "on": per_second * len(seconds[True]) / sum(seconds[True]),
        "cost_percent": (sum(seconds[True]) / sum(seconds[False]) - 1) * 100,
        "rounds": len(seconds[True]),
    }


def measure(count: int, frame: int, rounds: int, seed: int) -> dict[str, float]:
    """Commands per second with and without the instruments over all the
    rounds, and the cost in % of CPU time."""
    return asyncio.run(_measure(count, frame, rounds, seed))


if __name__ == "__main__":
    # python -m server.bench.metrics_cost [commands] [frame] [rounds]
    import sys

    arguments = [int(value) for value in sys.argv[1:4]]
    count, frame, rounds = arguments + [200_000, 10, 200][len(arguments) :]
    result = measure(count, frame, rounds, seed=1)
    print(
        f"commands/s without metrics {result['off']:.0f}, with {result['on']:.0f}; "
        f"cost {result['cost_percent']:.2f}% ({result['rounds']:.0f} rounds each)"
    )
