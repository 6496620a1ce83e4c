"""``stx bench rest``: POST /orders through the REST bridge under concurrent load.

Self-contained: starts ``stx serve`` as a subprocess on free ports with a
temporary data directory and an administrator that trades (STX_ADMIN_*),
signs in, prepares the accounts REST0, REST1, ... (cash and limits, as an
operator would: the pre-trade risk controls stay on), then runs
``concurrency`` clients that each send their next order as soon as the last
one is answered, for ``duration`` seconds. Reports requests per second, the
latency percentiles of the answers, and the CPU each process spent per
request (which tells the exchange's cost apart from a busy machine's).

The clients speak HTTP through the bridge inside ``stx serve`` (the
default), through ``stx rest`` in a process of its own, or, to show what the
bridge works under, gRPC straight to the server: the same PlaceOrder calls
without HTTP, JSON or the bridge.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import orjson
import uvloop
from hdrh.histogram import HdrHistogram
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

from clients.sdk import AsyncExchangeClient
from server.bench.http_client import Client, connect, request_bytes, wait_ready
from server.bench.process_cpu import tree_cpu_seconds

ADMIN, PASSWORD = "loader", "a long benchmark passphrase"
CASH = 1_000_000_000_000_0000
"""Each account's cash (0.0001 units): buying power never refuses an order."""
MODES = ("inside", "separate", "grpc")
"""Through the bridge inside stx serve, through stx rest, or gRPC directly."""
Send = Callable[[int, int], Awaitable[bytes | None]]
"""(client number, its order's sequence) -> None, or the refusal's words."""
Close = Callable[[], Awaitable[None]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) of process ``pid`` and every
    process under it so far (``stx serve`` supervises the exchange's
    processes), from /proc; None where there is no /proc."""
    return tree_cpu_seconds(pid)


async def _sign_in(port: int, ready_port: int) -> str:
    """Wait for the bridge (and for ``stx serve`` behind it), then sign in."""
    if ready_port != port:
        (await wait_ready(ready_port)).close()
    probe = await wait_ready(port)
    login = orjson.dumps({"username": ADMIN, "password": PASSWORD})
    status, body = await probe.request(request_bytes("POST", "/users/login", login))
    probe.close()
    if status != 200:
        raise RuntimeError(f"sign-in refused ({status}): {body[:200]!r}")
    token: str = orjson.loads(body)["access_token"]
    return token


def _order(number: int, sequence: int) -> tuple[str, str, bool, int]:
    """Client ``number``'s order ``sequence``: account, client order id, buy?,
    price in 0.0001 units. Buys and sells alternate, apart, so that orders rest."""
    buy = bool(sequence % 2)
    return f"REST{number}", f"w{number}-{sequence}", buy, 1_890_000 if buy else 1_910_000


async def _over_http(port: int, concurrency: int, token: str) -> tuple[Send, Close]:
    clients: list[Client] = [await connect(port) for _ in range(concurrency)]

    async def send(number: int, sequence: int) -> bytes | None:
        account, client_order_id, buy, price = _order(number, sequence)
        order = (
            b'{"account_id":"%s","client_order_id":"%s","symbol":"AAPL","side":"%s",'
            b'"order_type":"ORDER_TYPE_LIMIT","time_in_force":"TIME_IN_FORCE_DAY",'
            b'"quantity":"100","price":"%d.%04d"}'
            % (account.encode(), client_order_id.encode(), b"SIDE_BUY" if buy else b"SIDE_SELL",
               price // 10_000, price % 10_000)
        )  # fmt: skip
        status, answer = await clients[number].request(
            request_bytes("POST", "/orders", order, token)
        )
        return None if status == 200 else answer[:300]

    async def close() -> None:
        for client in clients:
            client.close()

    return send, close


def _over_grpc(grpc_port: int, token: str) -> tuple[Send, Close]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}")
    stub = orders_pb2_grpc.OrderServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)
    limit, day = common_pb2.ORDER_TYPE_LIMIT, common_pb2.TIME_IN_FORCE_DAY

    async def send(number: int, sequence: int) -> bytes | None:
        account, client_order_id, buy, price = _order(number, sequence)
        request = orders_pb2.PlaceOrderRequest(
            account_id=account, client_order_id=client_order_id, symbol="AAPL",
            side=common_pb2.SIDE_BUY if buy else common_pb2.SIDE_SELL, order_type=limit,
            time_in_force=day, quantity=100, price=price,
        )  # fmt: skip
        try:
            await stub.PlaceOrder(request, metadata=metadata, timeout=30)
        except grpc.aio.AioRpcError as error:
            return f"{error.code().name}: {error.details()}".encode()
        return None

    async def close() -> None:
        await channel.close(None)

    return send, close


async def _load(
    port: int,
    grpc_port: int,
    concurrency: int,
    duration: float,
    processes: dict[str, int],
    mode: str = "inside",
    ready_port: int = 0,
) -> dict[str, Any]:
    """Drive the exchange: over HTTP on ``port`` or, in mode ``grpc``, over
    gRPC. ``processes`` (name -> pid) are those whose CPU is reported."""
    token = await _sign_in(port, ready_port or port)
    async with AsyncExchangeClient(f"127.0.0.1:{grpc_port}", token=token) as exchange:
        for number in range(concurrency):
            await exchange.prepare_account(f"REST{number}", CASH, "REST benchmark")
    if mode == "grpc":
        send, close = _over_grpc(grpc_port, token)
    else:
        send, close = await _over_http(port, concurrency, token)
    histogram = HdrHistogram(1, 60_000_000, 3)
    sent, errors, first_error = [0], [0], [b""]
    deadline = time.perf_counter() + duration

    async def worker(number: int) -> None:
        sequence = 0
        clock = time.perf_counter
        while clock() < deadline:
            sequence += 1
            began = clock()
            refused = await send(number, sequence)
            histogram.record_value(max(1, int((clock() - began) * 1_000_000)))
            sent[0] += 1
            if refused is not None:
                errors[0] += 1
                first_error[0] = first_error[0] or refused

    started = time.perf_counter()
    cpu_before = {name: _cpu_seconds(pid) for name, pid in processes.items()}
    client_cpu = time.process_time()
    try:
        await asyncio.gather(*(worker(number) for number in range(concurrency)))
    finally:
        await close()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    cpu_after = {name: _cpu_seconds(pid) for name, pid in processes.items()}
    count = max(1, sent[0])
    figures: dict[str, Any] = {
        "mode": mode,
        "requests_per_sec": round(sent[0] / elapsed, 1),
        "requests": sent[0],
        "concurrency": concurrency,
        "errors": errors[0],
        "p50_us": histogram.get_value_at_percentile(50),
        "p99_us": histogram.get_value_at_percentile(99),
        "max_us": histogram.get_max_value(),
        "client_cpu_us_per_request": round(client_cpu / count * 1e6),
    }
    for name, before in cpu_before.items():
        after = cpu_after[name]
        if before is not None and after is not None:
            figures[f"{name}_cpu_us_per_request"] = round((after - before) / count * 1e6)
    if first_error[0]:
        figures["first_error"] = first_error[0].decode(errors="replace")
    return figures


def measure(concurrency: int, duration: float, mode: str = "inside") -> dict[str, Any]:
    """Run the load against a fresh ``stx serve`` in ``mode`` (see ``MODES``)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    stx = str(Path(sys.executable).with_name("stx"))
    rest_port, grpc_port = _free_port(), _free_port()
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
            # Plaintext, as the figures in docs/performance.md were taken:
            # the bridge's own cost, not TLS's (measured with stx loadtest).
            "STX_TLS_ENABLED": "false",
        }
        started: list[subprocess.Popen[bytes]] = []

        def start(*arguments: str) -> int:
            process = subprocess.Popen(
                [stx, *arguments], env=environ, stdout=log, stderr=subprocess.STDOUT
            )
            started.append(process)
            return process.pid

        processes = {
            "server": start("serve", "--data-dir", f"{scratch}/data",
                            "--grpc-port", str(grpc_port), "--rest-port", str(rest_port)),
        }  # fmt: skip
        port = rest_port
        if mode == "separate":
            port, target = _free_port(), f"127.0.0.1:{grpc_port}"
            processes["bridge"] = start(
                "rest", "--grpc", target, "--port", str(port), "--host", "127.0.0.1"
            )
        try:
            return uvloop.run(
                _load(port, grpc_port, concurrency, duration, processes, mode, rest_port)
            )
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {Path(log.name).read_text()[-2000:]}") from None
        finally:
            for process in reversed(started):
                process.terminate()
                process.wait(60)
