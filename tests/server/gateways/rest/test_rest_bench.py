"""``stx bench rest``: its lean HTTP client, and short runs end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from server.bench import http_client, rest_bench


async def _exchange(answer: Callable[[bytes], list[bytes]], raw: bytes) -> tuple[int, bytes]:
    """Send ``raw`` with ``http_client.Client`` to a server that writes the
    pieces ``answer`` gives for the request it read."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        for piece in answer(request):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        await reader.read()  # until the client closes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await http_client.connect(port)
    try:
        return await asyncio.wait_for(client.request(raw), 5)
    finally:
        client.close()
        server.close()
        await server.wait_closed()


def test_the_client_reads_an_answer_that_arrives_in_pieces() -> None:
    body = b'{"order": {"order_id": "7"}}'
    head = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    whole = head % len(body) + body

    def pieces(request: bytes) -> list[bytes]:
        assert request.startswith(b"POST /orders HTTP/1.1\r\n")
        assert b"authorization: Bearer T\r\n" in request
        return [whole[:7], whole[7:60], whole[60:-3], whole[-3:]]

    raw = http_client.request_bytes("POST", "/orders", b"{}", "T")
    assert asyncio.run(_exchange(pieces, raw)) == (201, body)


def test_the_client_refuses_an_answer_without_a_length() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    raw = http_client.request_bytes("GET", "/healthz", b"")
    with pytest.raises(http_client.HttpError, match="content-length"):
        asyncio.run(_exchange(lambda request: [chunked], raw))


@pytest.mark.parametrize("mode", rest_bench.MODES)
def test_a_short_run_places_orders_without_errors(mode: str) -> None:
    figures = rest_bench.measure(2, 0.5, mode)
    assert figures["errors"] == 0, figures.get("first_error")
    assert figures["requests"] > 0
    assert figures["p50_us"] <= figures["p99_us"] <= figures["max_us"]
    assert figures["server_cpu_us_per_request"] > 0
    assert ("bridge_cpu_us_per_request" in figures) is (mode == "separate")
