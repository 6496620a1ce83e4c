"""``stx bench rest``: POST /orders through the REST bridge under concurrent load.

Self-contained: starts ``stx serve`` as a subprocess on free ports with a
temporary data directory and an administrator that trades (STX_ADMIN_*),
signs in over HTTP, then runs ``concurrency`` clients that each send their
next order as soon as the last one is answered, for ``duration`` seconds.
Reports requests per second and the latency percentiles of the answers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from hdrh.histogram import HdrHistogram

ADMIN, PASSWORD = "loader", "a long benchmark passphrase"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_ready(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with http.get(f"{base}/healthz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("stx serve did not start")


async def _load(base: str, concurrency: int, duration: float) -> dict[str, Any]:
    histogram = HdrHistogram(1, 60_000_000, 3)
    errors = [0]
    sent = [0]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await _wait_ready(http, base)
        login = {"username": ADMIN, "password": PASSWORD}
        async with http.post(f"{base}/users/login", json=login) as answer:
            token = (await answer.json())["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        deadline = time.perf_counter() + duration

        async def worker(number: int) -> None:
            sequence = 0
            while time.perf_counter() < deadline:
                sequence += 1
                order = {
                    "account_id": f"REST{number}", "client_order_id": f"w{number}-{sequence}",
                    "symbol": "AAPL", "side": "SIDE_BUY" if sequence % 2 else "SIDE_SELL",
                    "order_type": "ORDER_TYPE_LIMIT", "time_in_force": "TIME_IN_FORCE_DAY",
                    "quantity": "100", "price": "189.00" if sequence % 2 else "191.00",
                }  # fmt: skip
                began = time.perf_counter()
                async with http.post(f"{base}/orders", json=order, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 200:
                        errors[0] += 1
                histogram.record_value(max(1, int((time.perf_counter() - began) * 1_000_000)))
                sent[0] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(number) for number in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests_per_sec": round(sent[0] / elapsed, 1),
        "requests": sent[0],
        "concurrency": concurrency,
        "errors": errors[0],
        "p50_us": histogram.get_value_at_percentile(50),
        "p99_us": histogram.get_value_at_percentile(99),
        "max_us": histogram.get_max_value(),
    }


def measure(concurrency: int, duration: float) -> dict[str, Any]:
    stx = Path(sys.executable).with_name("stx")
    rest_port = _free_port()
    with (
        tempfile.TemporaryDirectory(prefix="stx-bench-rest-") as scratch,
        tempfile.NamedTemporaryFile(suffix=".log") as log,
    ):
        environ = {
            **os.environ,
            "STX_ADMIN_USERNAME": ADMIN,
            "STX_ADMIN_PASSWORD": PASSWORD,
            "STX_ADMIN_ROLES": "admin,trader",
            "STX_FEED_PORT": str(_free_port()),
            "STX_SNAPSHOT_PORT": str(_free_port()),
        }
        server = subprocess.Popen(
            [str(stx), "serve", "--data-dir", f"{scratch}/data",
             "--grpc-port", str(_free_port()), "--rest-port", str(rest_port)],
            env=environ, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            return asyncio.run(_load(f"http://127.0.0.1:{rest_port}", concurrency, duration))
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {Path(log.name).read_text()[-2000:]}") from None
        finally:
            server.terminate()
            server.wait(60)
