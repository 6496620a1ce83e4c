"""``stx bench server``: the order path of a fresh ``stx serve``, beside the
bare gRPC echo measured in the same run, optionally against an older commit.

Each server run starts ``stx serve`` on a scratch data directory and free
ports with its defaults (store, feed, sign-in, risk, surveillance: every
feature on), TLS on or off, and an administrator that trades created from
``STX_ADMIN_*``; signs in; runs ``stx loadtest``'s open-loop load
(``clients.loadtest``) against it; and reads the CPU time of the server's
whole process tree from /proc before and after the load, so the figure stays
true when ``stx serve`` supervises several processes. The echo floor
(``stx bench transport``) then runs on one stream at the load's message rate
(orders per second / batch), over TLS when the servers were: the exchange
cannot answer faster than gRPC echoes an empty message, so ``p99_to_floor``
is what the exchange adds.

The machine these run on is shared and noisy: absolute figures move by tens
of percent between minutes. With ``baseline`` the same load runs against the
older commit, A and B alternating in each round (the first of the pair swaps
every round), and the report gives each round's ratios (this tree / baseline)
and their medians: compare those, not figures from different runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import uvloop
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from clients.loadtest import LoadSpec, run_load
from clients.transport import ClientTls, aio_channel
from server.bench import transport_bench
from server.bench.process_cpu import tree_by_process
from server.bench.sources import Source, checked_out, this_tree
from server.processes.supervise import READY_LOG

ADMIN, PASSWORD = "loader", "a long server benchmark passphrase"
START_TIMEOUT = 60.0
"""Seconds a fresh server gets to sign its administrator in (it makes its
local CA and migrates its store first; a loaded machine is slow)."""
RATIO_KEYS = ("orders_per_sec", "p50_us", "p99_us", "p999_us", "cpu_us_per_order")
"""The figures compared between this tree and the baseline."""


class BenchError(RuntimeError):
    """A server did not start, refused the sign-in, or could not be loaded."""


@dataclass(frozen=True)
class Load:
    """The load of every run: ``stx loadtest``'s options."""

    rate: float
    duration: float
    streams: int = 1
    batch: int = 1
    cancel: float = 0.0

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.duration <= 0 or self.streams < 1 or self.batch < 1:
            raise ValueError("rate, duration, streams and batch must be positive")
        if not 0 <= self.cancel <= 1:
            raise ValueError("cancel is a share between 0 and 1")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _sign_in(target: str, tls: ClientTls, process: subprocess.Popen[bytes]) -> str:
    """The administrator's access token, once the server answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise BenchError(f"stx serve exited with status {process.returncode}")
        try:
            async with aio_channel(target, tls) as channel:
                answer = await users_pb2_grpc.UserServiceStub(channel).Login(
                    users_pb2.LoginRequest(username=ADMIN, password=PASSWORD), timeout=2
                )
            token: str = answer.access_token
            return token
        except grpc.aio.AioRpcError as error:
            # Not up yet, or too slow to answer a sign-in in time (a loaded
            # machine, its processes still starting): ask again until the deadline.
            retry = error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            if not retry or time.monotonic() > deadline:
                reason = f"{error.code().name}: {error.details()}"
                raise BenchError(f"sign-in failed: {reason}") from None
        await asyncio.sleep(0.2)


@contextlib.contextmanager
def _fresh_server(
    source: Source, tls: bool, scratch: Path, *, config: Path | None = None
) -> Iterator[tuple[str, ClientTls, subprocess.Popen[bytes]]]:
    """``stx serve`` from ``source`` on ``scratch`` (with ``config``, else the
    demo configuration): its target, how to reach it and the process (stopped
    with SIGTERM, as ^C would, at the end)."""
    grpc_port = _free_port()
    data = scratch / "data"
    environ = source.environ({
        **os.environ,
        "STX_ADMIN_USERNAME": ADMIN,
        "STX_ADMIN_PASSWORD": PASSWORD,
        "STX_ADMIN_ROLES": "admin,trader",
        "STX_REST_PORT": str(_free_port()),
        "STX_FEED_PORT": str(_free_port()),
        "STX_SNAPSHOT_PORT": str(_free_port()),
        "STX_TLS_ENABLED": "true" if tls else "false",
    })  # fmt: skip
    environ.pop("STX_DATABASE_URL", None)  # the embedded store in the scratch directory
    stx = str(Path(sys.executable).with_name("stx"))
    log_path = scratch / "serve.log"
    with log_path.open("wb") as log:
        # A file, not a pipe: nobody reads a pipe during the load, and a full
        # one would stall the server.
        process = subprocess.Popen(
            [stx, "serve", "--data-dir", str(data), "--grpc-port", str(grpc_port),
             *(["--config", str(config)] if config is not None else [])],
            env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=scratch,
        )  # fmt: skip
    client_tls = ClientTls(data / "tls" / "ca.pem") if tls else ClientTls()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while tls and not (data / "tls" / "ca.pem").is_file():
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError("stx serve made no local CA")
            time.sleep(0.1)
        yield f"127.0.0.1:{grpc_port}", client_tls, process
    except BenchError as error:
        raise BenchError(f"{source.label} ({source.commit}): {error}; its log ends:\n"
                         f"{log_path.read_text(errors='replace')[-3000:]}") from None  # fmt: skip
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_every_process(process: subprocess.Popen[bytes], log: Path) -> None:
    """Until a multi-process server has started all its processes: one still
    starting during the run would count its start-up as CPU per order. A
    single-process server (an older commit) is ready once it signs in."""
    deadline = time.monotonic() + START_TIMEOUT
    while len(tree_by_process(process.pid)) > 1 and READY_LOG not in log.read_text(
        errors="replace"
    ):
        if process.poll() is not None or time.monotonic() > deadline:
            raise BenchError("stx serve did not start all its processes")
        time.sleep(0.1)


def measure_server(source: Source, load: Load, tls: bool) -> dict[str, Any]:
    """One fresh server from ``source`` under ``load``: the load test's
    figures plus the CPU its processes spent per acknowledged order."""
    with (
        tempfile.TemporaryDirectory(prefix="stx-bench-server-") as scratch,
        _fresh_server(source, tls, Path(scratch)) as (target, client_tls, process),
    ):
        token = uvloop.run(_sign_in(target, client_tls, process))
        _wait_for_every_process(process, Path(scratch) / "serve.log")
        spec = LoadSpec(
            target, load.rate, load.duration, load.streams, load.batch,
            cancel=load.cancel, token=token, tls=client_tls,
        )  # fmt: skip
        before = tree_by_process(process.pid)
        try:
            result = uvloop.run(run_load(spec))
        except grpc.aio.AioRpcError as error:
            raise BenchError(f"load failed: {error.code().name}: {error.details()}") from None
        after = tree_by_process(process.pid)
        if process.poll() is not None:
            raise BenchError(f"stx serve exited with status {process.returncode} under load")
    figures: dict[str, Any] = {
        "code": source.label,
        "commit": source.commit,
        "tls": tls,
        "offered_per_sec": load.rate,
        **result.as_json(),
    }
    if after:
        figures.update(cpu_figures(before, after, result.acknowledged))
    return figures


def cpu_figures(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], orders: int
) -> dict[str, Any]:
    """CPU per order of the whole tree and of each process that worked. A
    child that ended during the load is in its parent's figure (the kernel
    adds a reaped child's whole time to the parent's cutime/cstime): what it
    had spent before the load is taken off the total."""
    spent = {
        pid: (name, seconds - before.get(pid, (name, 0.0))[1])
        for pid, (name, seconds) in after.items()
    }
    ended = sum(seconds for pid, (_, seconds) in before.items() if pid not in after)
    total = sum(seconds for _, seconds in spent.values()) - ended
    per_order = 1e6 / max(1, orders)
    return {
        "cpu_seconds": round(total, 3),
        "cpu_us_per_order": round(total * per_order),
        "cpu_by_process": [
            {"pid": pid, "process": name, "cpu_us_per_order": round(seconds * per_order)}
            for pid, (name, seconds) in sorted(spent.items())
            if seconds > 0
        ],
    }


def measure_floor(load: Load, tls: bool) -> dict[str, Any]:
    """The bare gRPC echo on one stream at the load's message rate, over TLS
    when the servers were measured over TLS."""
    return dict(transport_bench.measure(load.rate / load.batch, load.duration, tls))


def _ratios(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
    return {
        key: round(mine[key] / theirs[key], 3)
        for key in RATIO_KEYS
        if key in mine and key in theirs and theirs[key]
    }


def _to_floor(server: dict[str, Any], floor: dict[str, Any]) -> float:
    ratio: float = server["p99_us"] / max(1, floor["p99_us"])
    return round(ratio, 2)


def _medians(rounds: list[dict[str, Any]], field: str) -> dict[str, float]:
    keys = {key for entry in rounds for key in entry.get(field, {})}
    return {
        key: round(statistics.median(e[field][key] for e in rounds if key in e[field]), 3)
        for key in sorted(keys)
    }


MeasureServer = Callable[[Source, Load, bool], dict[str, Any]]
MeasureFloor = Callable[[Load, bool], dict[str, Any]]
Checkout = Callable[[str], contextlib.AbstractContextManager[Source]]


def run(
    load: Load,
    tls: bool,
    repeat: int = 1,
    baseline: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    *,
    server: MeasureServer = measure_server,
    floor: MeasureFloor = measure_floor,
    checkout: Checkout = checked_out,
) -> dict[str, Any]:
    """``repeat`` rounds of (this tree's server, [the baseline's], the echo
    floor); the report with each round's figures, ratios and their medians.
    ``server``, ``floor`` and ``checkout`` are the measurements and the git
    checkout (tests pass fakes)."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    mine = this_tree()
    with contextlib.ExitStack() as stack:
        theirs = stack.enter_context(checkout(baseline)) if baseline else None
        like_for_like = tls and (theirs is None or theirs.tls)
        report: dict[str, Any] = {
            "rate": load.rate, "duration": load.duration, "streams": load.streams,
            "batch": load.batch, "cancel": load.cancel, "tls": like_for_like, "repeat": repeat,
            "commit": mine.commit, "build": mine.build,
        }  # fmt: skip
        if tls and not like_for_like:
            report["note"] = f"{baseline} has no TLS: both measured in plaintext"
        if theirs is not None:
            report["baseline"] = {
                "revision": baseline, "commit": theirs.commit, "build": theirs.build,
            }  # fmt: skip
        sides = [("server", mine)] + ([("baseline", theirs)] if theirs is not None else [])
        rounds: list[dict[str, Any]] = []
        for number in range(repeat):
            entry: dict[str, Any] = {}
            order = sides[::-1] if number % 2 else sides
            for name, source in order:
                progress(f"round {number + 1}/{repeat}: {source.label} ({source.commit})")
                entry[name] = server(source, load, like_for_like)
            progress(f"round {number + 1}/{repeat}: bare gRPC echo")
            entry["floor"] = echo = floor(load, like_for_like)
            entry["first"] = order[0][0]
            entry["p99_to_floor"] = {name: _to_floor(entry[name], echo) for name, _ in order}
            if theirs is not None:
                entry["ratios"] = _ratios(entry["server"], entry["baseline"])
            rounds.append(entry)
    report["rounds"] = rounds
    report["median_p99_to_floor"] = _medians(rounds, "p99_to_floor")
    if baseline is not None:
        report["median_ratios"] = _medians(rounds, "ratios")
    return report


def _cell(figures: dict[str, Any]) -> str:
    cpu = figures.get("cpu_us_per_order")
    return (
        f"{figures.get('orders_per_sec', figures.get('messages_per_sec', 0)):>9,.0f}/s  "
        f"p50 {_ms(figures['p50_us'])}  p99 {_ms(figures['p99_us'])}  "
        f"p99.9 {_ms(figures['p999_us'])}  max {_ms(figures['max_us'])}"
        + (f"  cpu {cpu:,} us/order" if cpu is not None else "")
        + (f"  errors {figures['errors']}" if figures.get("errors") else "")
    )


def _ms(microseconds: int) -> str:
    if microseconds >= 1_000_000:
        return f"{microseconds / 1e6:6.2f} s "
    return f"{microseconds / 1000:6.2f} ms"


def describe(report: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal."""
    lines = [
        f"{report['rate']:,.0f} orders/s offered for {report['duration']} s, "
        f"{report['streams']} stream(s), batch {report['batch']}, cancel {report['cancel']}, "
        + ("TLS" if report["tls"] else "plaintext")
    ]
    if "note" in report:
        lines.append(report["note"])
    for number, entry in enumerate(report["rounds"], 1):
        lines.append(f"round {number} ({entry['first']} first)")
        for name in ("server", "baseline"):
            if name in entry:
                figures = entry[name]
                label = f"{figures['code']} {figures['commit']}"
                to_floor = entry["p99_to_floor"][name]
                lines.append(f"  {label:<28}{_cell(figures)}  p99/floor {to_floor}")
                lines.extend(
                    f"    cpu {process['cpu_us_per_order']:>7,} us/order  "
                    f"{process['process']} ({process['pid']})"
                    for process in figures.get("cpu_by_process", ())
                )
        lines.append(f"  {'bare gRPC echo':<28}{_cell(entry['floor'])}")
        if "ratios" in entry:
            lines.append("  this tree / baseline: " + _ratio_text(entry["ratios"]))
    if "median_ratios" in report:
        lines.append("median this tree / baseline: " + _ratio_text(report["median_ratios"]))
    lines.append("median p99 / floor p99: " + _ratio_text(report["median_p99_to_floor"]))
    return lines


def _ratio_text(ratios: dict[str, float]) -> str:
    return ", ".join(f"{key} {value}" for key, value in ratios.items())
