"""``stx bench engine``: throughput, latency and memory of the matching engine.

Throughput and latency are measured in separate passes over the same command
list on fresh engines, so the per-command clock reads do not slow down the
throughput figure. The collector is frozen after set-up and its young
generation threshold raised: the engine creates no reference cycles that
need collecting, and a full collection over a large book is what gives
pure-Python books their 100 ms worst cases.

The engine is measured in the build this process runs (``matching.BUILD``:
compiled with mypyc, or pure Python); ``pure=True`` also measures the pure
build, in a child interpreter with ``STX_PURE_ENGINE=1``, in the same run.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from dataclasses import replace as replaced

import matching
from matching import (
    Command,
    ConfigureControls,
    Engine,
    FundAccount,
    NewOrder,
    OrderRejected,
    OrderType,
    RiskLimits,
    SetRiskLimits,
    Side,
    TimeInForce,
)
from matching.build import PURE_ENV
from server.bench.workload import ACCOUNTS, Mix, generate, instruments
from server.risk_config import DEFAULT_BREAKERS

GC_THRESHOLDS = (50_000, 50, 1_000)
BENCH_LIMITS = RiskLimits(
    max_order_quantity=1_000_000,
    max_order_notional=10**15,
    price_collar_bps=5_000,
    max_position_quantity=10**12,
    max_open_orders=10**9,
    max_messages_per_second=10**9,
    allow_short_selling=True,
)
"""Every limit set, so every check runs, but wide enough that the seeded flow
(generated without controls) is accepted as it was; short selling allowed
because the flow sells without positions."""


def fresh_engine(controls: bool) -> Engine:
    """A fresh engine; with ``controls``, every control on: limits enforced,
    volatility bands of 10%, the circuit breaker, funded accounts."""
    if not controls:
        return Engine(instruments())
    engine = Engine(
        [replaced(instrument, volatility_band_bps=1_000) for instrument in instruments()]
    )
    engine.process(ConfigureControls(0, True, breaker_levels=DEFAULT_BREAKERS))
    engine.process(SetRiskLimits(0, "", BENCH_LIMITS))
    for account in ACCOUNTS:
        engine.process(FundAccount(0, account, 10**18))
    return engine


@dataclass(frozen=True)
class EngineFigures:
    commands: int
    commands_per_sec: float
    p50_ns: int
    p99_ns: int
    p999_ns: int
    max_ns: int
    events: int
    rejected: int = 0
    """Orders the engine refused (risk controls, when on)."""
    build: str = matching.BUILD
    """``compiled`` or ``pure``: the engine build that ran."""

    def as_json(self) -> dict[str, float | int | str]:
        return {
            "build": self.build,
            "commands": self.commands,
            "commands_per_sec": round(self.commands_per_sec),
            "p50_ns": self.p50_ns,
            "p99_ns": self.p99_ns,
            "p999_ns": self.p999_ns,
            "max_ns": self.max_ns,
            "events": self.events,
            "rejected": self.rejected,
        }


def _quiet_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _warm(commands: list[Command], controls: bool = False) -> None:
    """Run a slice once so the interpreter's specialised bytecode is in place."""
    engine = fresh_engine(controls)
    for command in commands[: min(len(commands), 50_000)]:
        engine.process(command)


def run_throughput(commands: list[Command], controls: bool = False) -> tuple[float, int]:
    engine = fresh_engine(controls)
    process = engine.process
    events = 0
    _quiet_collector()
    start = time.perf_counter_ns()
    for command in commands:
        events += len(process(command))
    elapsed = time.perf_counter_ns() - start
    return len(commands) * 1e9 / elapsed, events


def run_latency(commands: list[Command], controls: bool = False) -> tuple[list[int], int]:
    """Per-command latencies, and how many orders were refused."""
    engine = fresh_engine(controls)
    process = engine.process
    clock = time.perf_counter_ns
    samples = [0] * len(commands)
    rejected = 0
    _quiet_collector()
    for index, command in enumerate(commands):
        start = clock()
        events = process(command)
        samples[index] = clock() - start
        if events and type(events[0]) is OrderRejected:
            rejected += 1
    return samples, rejected


def _percentile(ordered: list[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(
    count: int, seed: int, mix: Mix | None = None, repeat: int = 3, controls: bool = False
) -> EngineFigures:
    """Best throughput of ``repeat`` passes (the machine is shared; the best
    pass is the one least disturbed), latency percentiles of one more pass."""
    commands = generate(count, seed, mix)
    _warm(commands, controls)
    rate, events = max(run_throughput(commands, controls) for _ in range(repeat))
    samples, rejected = run_latency(commands, controls)
    samples.sort()
    return EngineFigures(
        commands=count,
        commands_per_sec=rate,
        p50_ns=_percentile(samples, 0.50),
        p99_ns=_percentile(samples, 0.99),
        p999_ns=_percentile(samples, 0.999),
        max_ns=samples[-1],
        events=events,
        rejected=rejected,
    )


def _pure_env() -> dict[str, str]:
    return {**os.environ, PURE_ENV: "1"}


def measure_pure(count: int, seed: int, controls: bool = False) -> EngineFigures:
    """``measure`` in a child interpreter running the pure build."""
    output = subprocess.run(
        [sys.executable, "-m", "server.bench.engine_bench", "figures", str(count), str(seed)]
        + (["controls"] if controls else []),
        env=_pure_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = EngineFigures(**json.loads(output))
    if figures.build != "pure":
        raise RuntimeError(f"the child interpreter ran the {figures.build} build")
    return figures


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_resting(count: int, pure: bool = False) -> dict[str, float | int | str]:
    """Rest ``count`` orders in a fresh interpreter that imports the engine
    and nothing else, as a matching process would; its memory per order."""
    output = subprocess.run(
        [sys.executable, "-m", "server.bench.engine_bench", str(count)],
        env=_pure_env() if pure else None,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float | int | str] = json.loads(output)
    return figures


def _measure_resting_here(count: int) -> dict[str, float | int | str]:
    """Rest ``count`` orders (none crossing) and report process memory per order."""
    gc.collect()
    before = _rss_bytes()
    engine = Engine(instruments())
    books = [
        (symbol, instrument.tick_size, instrument.reference_price)
        for symbol, instrument in ((i.symbol, i) for i in instruments())
    ]
    timestamp = 1_700_000_000_000_000_000
    for index in range(count):
        symbol, tick, reference = books[index % len(books)]
        depth = 1 + (index // len(books)) % 500
        side = Side.BUY if index % 2 else Side.SELL
        price = reference - depth * tick if side is Side.BUY else reference + depth * tick
        engine.process(
            NewOrder(
                timestamp + index,
                f"ACC{index % 1000:03d}",
                symbol,
                side,
                OrderType.LIMIT,
                100 * (1 + index % 10),
                price,
                TimeInForce.GTC,
            )
        )
    gc.collect()
    after = _rss_bytes()
    resting = len(engine.orders)
    return {
        "build": matching.BUILD,
        "resting_orders": resting,
        "rss_bytes": after,
        "rss_bytes_per_order": round(after / resting, 1),
        "rss_growth_bytes_per_order": round((after - before) / resting, 1),
    }


if __name__ == "__main__":
    if sys.argv[1] == "figures":
        count, seed = int(sys.argv[2]), int(sys.argv[3])
        controls = sys.argv[4:] == ["controls"]
        print(json.dumps(dataclasses.asdict(measure(count, seed, controls=controls))))
    else:
        print(json.dumps(_measure_resting_here(int(sys.argv[1]))))
