"""``stx bench projector``: how fast the journal is projected into a store.

A seeded order flow (the engine benchmark's) is sequenced and journaled into
a temporary data directory first; then a projector starts from an empty
store and the time it takes to write everything is measured. Rows are the
unit ("events"): audit entries, execution reports, executions, trades,
order and instrument states, bars.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from server.bench.workload import OrderFlow, instruments
from server.consumers.projector import BATCH_COMMANDS, Projector
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.store import open_store


async def _journal(directory: Path, commands: int, seed: int) -> int:
    core = ExchangeCore.open(
        directory, instruments(), durability=Durability.NONE, snapshot_every=10**12
    )
    flow = OrderFlow(core.engine, seed)
    sequencer = core.sequencer
    for index in range(commands):
        command = flow.next_command()._replace(timestamp=sequencer.now())
        flow.observe(sequencer.submit(command).events)
        if index % 1_000 == 999:
            await sequencer.durable()
    await sequencer.durable()
    last = sequencer.sequence
    await core.close(final_snapshot=False)
    return last


async def _measure(
    url: str, commands: int, seed: int, batch_commands: int | None
) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="stx-bench-projector-") as scratch:
        directory = Path(scratch)
        last = await _journal(directory, commands, seed)
        store = await open_store(url or f"sqlite:///{directory / 'bench.db'}")
        try:
            if await store.position():
                raise ValueError("the store is not empty: benchmark into a fresh database")
            projector = Projector(
                store, directory, committed=lambda: last,
                batch_commands=batch_commands or BATCH_COMMANDS,
            )  # fmt: skip
            began = time.perf_counter()
            cpu = time.process_time()
            await projector.start()
            await projector.caught_up(last, timeout=3_600)
            elapsed = time.perf_counter() - began
            cpu_seconds = time.process_time() - cpu
            await projector.stop()
            return {
                "backend": store.backend,
                "commands": last,
                "events": projector.projected_rows,
                "seconds": round(elapsed, 3),
                "events_per_sec": round(projector.projected_rows / elapsed, 1),
                "commands_per_sec": round(last / elapsed, 1),
                "batch_commands": projector.batch_commands,
                "cpu_us_per_command": round(cpu_seconds / last * 1e6, 1),
            }
        finally:
            await store.close()


def measure(
    url: str, commands: int, seed: int = 1, batch_commands: int | None = None
) -> dict[str, float | int | str]:
    return asyncio.run(_measure(url, commands, seed, batch_commands))
