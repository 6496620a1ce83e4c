"""The measurement behind docs/decisions/0009: how fast the committed log moves.

``python -m server.bench.relay_bench REDIS_URL [RECORDS] [--batch N]``
journals RECORDS commands of the engine benchmark's order flow into a scratch
data directory, then times, on the Redis at REDIS_URL (a scratch stream,
deleted afterwards):

- the relay: the journal files appended to the stream in batches of N
  (``server/consumers/relay.py``, as ``stx serve relay`` runs it);
- a consumer's read: the stream read back after record 0 in chunks of 5,000,
  each checked to follow the last (``LogTail``), without replaying them;
- the replay a consumer elsewhere does on an empty store: the log through a
  shadow engine from record 1 (``LogSource.shadow_at``).

Each figure is records per second; a JSON object on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from server.bench.workload import OrderFlow, instruments
from server.committed.open import open_log
from server.consumers.relay import BATCH_RECORDS, Relay
from server.consumers.sources import LogSource, LogTail
from server.core.exchange import ExchangeCore
from server.journal import Durability

READ_CHUNK = 5_000


async def measure(url: str, records: int, batch: int) -> dict[str, float]:
    stream = f"stx:bench:relay:{os.getpid()}"
    log = open_log(f"{url}?stream={stream}")
    with tempfile.TemporaryDirectory(prefix="stx-relay-bench-") as scratch:
        data = Path(scratch)
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        flow = OrderFlow(core.engine, 11)
        for _ in range(records):
            command = flow.next_command()._replace(timestamp=core.sequencer.now())
            flow.observe(core.sequencer.submit(command).events)
        await core.sequencer.durable()
        end = core.sequencer.sequence
        try:
            relay = Relay(log, data, committed=lambda: end, batch_records=batch)
            started = time.perf_counter()
            await relay.start()
            await relay.caught_up(end, timeout=600)
            relayed = time.perf_counter() - started
            await relay.stop()
            tail = LogTail(log, 0)
            started = time.perf_counter()
            while tail.last < end:
                await tail.read(READ_CHUNK, end)
            read = time.perf_counter() - started
            started = time.perf_counter()
            await LogSource(log).shadow_at(end)
            replayed = time.perf_counter() - started
        finally:
            await core.close()
            await log.close()
            scratch_stream = Redis.from_url(url)
            await scratch_stream.delete(stream)
            await scratch_stream.aclose()
    return {
        "records": end,
        "batch": batch,
        "relay_records_per_sec": round(end / relayed),
        "read_records_per_sec": round(end / read),
        "replay_records_per_sec": round(end / replayed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="redis://host:port/db (a scratch stream is used)")
    parser.add_argument("records", type=int, nargs="?", default=50_000)
    parser.add_argument("--batch", type=int, default=BATCH_RECORDS)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(measure(arguments.url, arguments.records, arguments.batch))))


if __name__ == "__main__":
    main()
