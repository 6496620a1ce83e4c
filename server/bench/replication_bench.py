"""What a hot standby costs one order: ``python -m server.bench.replication_bench``.

One stream of orders, each sent by a gateway (``RemoteSequencer`` over the
link, in this process) and awaited before the next, against a core with no
replication, with a standby following asynchronously, and in sync mode
(acknowledged only once the standby has the batch durable). The standby is
a process of its own on loopback TCP, as it would be on another host. The
modes alternate over rounds so the machine's drift spreads over all three;
the figures to read are the within-run ratios to "none".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from matching import FundAccount, RiskLimits, SetRiskLimits
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.link.client import CoreClient
from server.link.listener import CoreLinkServer
from server.link.remote import RemoteSequencer
from server.link.replica import Replica
from server.replication.primary import ReplicationServer
from server.replication.settings import ReplicationSettings
from server.replication.standby import Standby

MODES = ("none", "async", "sync")


def _run_standby(directory: str, port: int, durability: str) -> None:
    async def follow() -> None:
        standby = Standby(Path(directory), ("127.0.0.1", port), durability=Durability(durability))
        await standby.start()
        await standby.task

    uvloop.run(follow())


async def _one_mode(mode: str, directory: Path, orders: int, durability: Durability) -> list[float]:
    core = ExchangeCore.open(directory / "primary", instruments(), durability=durability)
    await core.start()
    replication = None
    child = None
    if mode != "none":
        settings = ReplicationSettings(listen="127.0.0.1:0", mode=mode, timeout_ms=5_000)
        replication = ReplicationServer(core, settings)
        await replication.start()
        child = multiprocessing.get_context("spawn").Process(
            target=_run_standby,
            args=(str(directory / "standby"), replication.port, durability.value),
        )
        child.start()
    gated = replication is not None and replication.sync
    link = CoreLinkServer(
        core,
        source=replication if gated else None,
        admission=replication.refusal if gated and replication is not None else None,
    )
    await link.start()
    client = CoreClient(directory / "primary", Replica.open(directory / "primary"), role="gateway")
    remote = RemoteSequencer(client)
    await client.start()
    try:
        await client.wait_ready(timeout=30)
        if replication is not None:
            while not replication.in_step:
                await asyncio.sleep(0.01)
        for account in ("alice", "bob", "carol", "dave"):
            remote.submit(
                SetRiskLimits(remote.now(), account, RiskLimits(allow_short_selling=True))
            )
            remote.submit(FundAccount(remote.now(), account, 10**15))
        await remote.durable()
        assert client.replica is not None
        flow = OrderFlow(client.replica.engine, seed=1)
        latencies = []
        for index in range(orders):
            started = time.perf_counter()
            pending = remote.submit(flow.next_command(), f"o{index}")
            await remote.durable()
            latencies.append(time.perf_counter() - started)
            flow.observe(pending.events)
        return latencies
    finally:
        await client.stop()
        await link.close()
        if replication is not None:
            await replication.close()
        await core.close()
        if child is not None:
            child.terminate()
            child.join()


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_us": round(ordered[len(ordered) // 2] * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] * 1e6, 1),
        "mean_us": round(statistics.fmean(ordered) * 1e6, 1),
    }


async def measure(orders: int, rounds: int, durability: Durability) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_ in range(rounds):
        for mode in MODES:
            with tempfile.TemporaryDirectory(prefix=f"stx-repl-{mode}-{round_}-") as scratch:
                latencies[mode] += await _one_mode(mode, Path(scratch), orders, durability)
    figures: dict[str, Any] = {mode: _summary(values) for mode, values in latencies.items()}
    base = figures["none"]
    for mode in ("async", "sync"):
        figures[mode]["p50_ratio"] = round(figures[mode]["p50_us"] / base["p50_us"], 2)
        figures[mode]["p99_ratio"] = round(figures[mode]["p99_us"] / base["p99_us"], 2)
    figures["orders_per_mode"] = orders * rounds
    figures["durability"] = durability.value
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000, help="orders per mode and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--durability", choices=[d.value for d in Durability], default="batch")
    options = parser.parse_args()
    figures = uvloop.run(measure(options.orders, options.rounds, Durability(options.durability)))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
