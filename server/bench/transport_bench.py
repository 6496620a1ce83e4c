"""``stx bench transport``: what gRPC alone costs on this machine.

A bare bidirectional echo over loopback (raw bytes, no protobuf, no
exchange), driven the way ``stx loadtest`` drives the order stream: an
open-loop schedule at a fixed rate, latency from each message's scheduled
send time to its echo. The server runs in a child process on grpc.aio and
uvloop like ``stx serve``. Its figures are the floor under every order-entry
figure: the exchange cannot answer faster, or more often on one stream,
than gRPC echoes an empty message. With ``tls`` both ends speak TLS with a
throwaway local CA made as ``stx serve`` makes its own, the floor under the
order stream's default transport.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import uvloop
from hdrh.histogram import HdrHistogram

from server.transport.pki import LocalPki, ensure_local_pki

_METHOD = "/stocktraderx.bench.Echo/Echo"


def _same(data: bytes) -> bytes:
    return data


class _Echo(grpc.GenericRpcHandler):  # type: ignore[type-arg]  # not subscriptable at run time
    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        async def echo(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
            async for message in requests:
                yield message

        return grpc.stream_stream_rpc_method_handler(echo, _same, _same)


async def _serve(port: int, ready: Any, pki: LocalPki | None) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_Echo(),))
    address = f"127.0.0.1:{port}"
    if pki is None:
        ready.put(server.add_insecure_port(address))
    else:
        pair = (pki.server_key.read_bytes(), pki.server_cert.read_bytes())
        ready.put(server.add_secure_port(address, grpc.ssl_server_credentials([pair])))
    await server.start()
    await server.wait_for_termination()


def _server_process(port: int, ready: Any, pki: LocalPki | None) -> None:
    uvloop.run(_serve(port, ready, pki))


def _channel(port: int, pki: LocalPki | None) -> grpc.aio.Channel:
    target = f"127.0.0.1:{port}"
    if pki is None:
        return grpc.aio.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(pki.ca.read_bytes())
    return grpc.aio.secure_channel(target, credentials)


async def _drive(port: int, rate: float, count: int, pki: LocalPki | None) -> HdrHistogram:
    histogram = HdrHistogram(1, 60_000_000, 3)
    async with _channel(port, pki) as channel:
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


def measure(rate: float, duration: float, tls: bool = False) -> dict[str, float | int]:
    """Echo ``rate`` messages a second for ``duration`` seconds on one stream."""
    with tempfile.TemporaryDirectory(prefix="stx-bench-transport-") as scratch:
        pki = ensure_local_pki(Path(scratch)) if tls else None
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        child = context.Process(target=_server_process, args=(0, ready, pki), daemon=True)
        child.start()
        try:
            port = ready.get(timeout=30)
            count = max(1, int(rate * duration))
            began = time.perf_counter()
            histogram = uvloop.run(_drive(port, rate, count, pki))
            elapsed = time.perf_counter() - began - 0.2
        finally:
            child.terminate()
            child.join()
    return {
        "tls": tls,
        "messages_per_sec": round(count / elapsed, 1),
        "offered_per_sec": rate,
        "p50_us": histogram.get_value_at_percentile(50),
        "p90_us": histogram.get_value_at_percentile(90),
        "p99_us": histogram.get_value_at_percentile(99),
        "p999_us": histogram.get_value_at_percentile(99.9),
        "max_us": histogram.get_max_value(),
    }
