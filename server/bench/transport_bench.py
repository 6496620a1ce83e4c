"""``stx bench transport``: what gRPC alone costs on this machine.

A bare bidirectional echo over loopback (raw bytes, no protobuf, no
exchange), driven the way ``stx loadtest`` drives the order stream: an
open-loop schedule at a fixed rate, latency from each message's scheduled
send time to its echo. The server runs in a child process on grpc.aio and
uvloop like ``stx serve``. Its figures are the floor under every order-entry
figure: the exchange cannot answer faster, or more often on one stream,
than gRPC echoes an empty message.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import uvloop
from hdrh.histogram import HdrHistogram

_METHOD = "/stocktraderx.bench.Echo/Echo"


def _same(data: bytes) -> bytes:
    return data


class _Echo(grpc.GenericRpcHandler):  # type: ignore[type-arg]  # not subscriptable at run time
    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        async def echo(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
            async for message in requests:
                yield message

        return grpc.stream_stream_rpc_method_handler(echo, _same, _same)


async def _serve(port: int, ready: Any) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_Echo(),))
    ready.put(server.add_insecure_port(f"127.0.0.1:{port}"))
    await server.start()
    await server.wait_for_termination()


def _server_process(port: int, ready: Any) -> None:
    uvloop.run(_serve(port, ready))


async def _drive(port: int, rate: float, count: int) -> HdrHistogram:
    histogram = HdrHistogram(1, 60_000_000, 3)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.stream_stream(_METHOD, request_serializer=_same, response_deserializer=_same)
        start = time.perf_counter() + 0.2
        scheduled = [start + index / rate for index in range(count)]

        async def messages() -> AsyncIterator[bytes]:
            for index in range(count):
                delay = scheduled[index] - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                yield index.to_bytes(4, "big")

        async for echoed in call(messages()):
            sent = scheduled[int.from_bytes(echoed, "big")]
            histogram.record_value(max(1, int((time.perf_counter() - sent) * 1_000_000)))
    return histogram


def measure(rate: float, duration: float) -> dict[str, float | int]:
    """Echo ``rate`` messages a second for ``duration`` seconds on one stream."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    child = context.Process(target=_server_process, args=(0, ready), daemon=True)
    child.start()
    try:
        port = ready.get(timeout=30)
        count = max(1, int(rate * duration))
        began = time.perf_counter()
        histogram = uvloop.run(_drive(port, rate, count))
        elapsed = time.perf_counter() - began - 0.2
    finally:
        child.terminate()
        child.join()
    return {
        "messages_per_sec": round(count / elapsed, 1),
        "offered_per_sec": rate,
        "p50_us": histogram.get_value_at_percentile(50),
        "p90_us": histogram.get_value_at_percentile(90),
        "p99_us": histogram.get_value_at_percentile(99),
        "p999_us": histogram.get_value_at_percentile(99.9),
        "max_us": histogram.get_max_value(),
    }
