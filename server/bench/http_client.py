"""A lean HTTP/1.1 client for load generation (``stx bench rest``).

The load generator shares the machine with the server, so it is kept cheap:
each client is one keep-alive connection driven by a bare asyncio protocol,
not an HTTP client library. aiohttp's client cost about 200 µs of CPU per
request here, a fifth of what the whole exchange then spent on one; this one
costs about 45 µs, histogram included.
"""

from __future__ import annotations

import asyncio
from typing import cast

_HEAD_END = b"\r\n\r\n"
_LENGTH = b"\r\ncontent-length:"


class HttpError(RuntimeError):
    """The server's answer is not the HTTP/1.1 this client understands."""


class Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with one request in flight.

    It understands exactly what the bridge sends (a status line, headers with
    a Content-Length, a body) and refuses anything else, such as a chunked
    answer, rather than miscount it.
    """

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._closed: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = exc or ConnectionResetError("the server closed the connection")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._closed)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        head_end = buffer.find(_HEAD_END)
        if head_end < 0:
            return
        head = bytes(buffer[:head_end]).lower()
        at = head.find(_LENGTH)
        if at < 0:
            self._fail(HttpError(f"no content-length in {head[:200]!r}"))
            return
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + len(_LENGTH) : None if line_end < 0 else line_end])
        end = head_end + 4 + length
        if len(buffer) < end:
            return
        status = int(head[9:12])
        body = bytes(buffer[head_end + 4 : end])
        del buffer[:end]
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((status, body))

    def _fail(self, error: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
        if self._transport is not None:
            self._transport.close()

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one whole request; the answer's status and body."""
        if self._closed is not None:
            raise self._closed
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def request_bytes(method: str, path: str, body: bytes, token: str = "") -> bytes:
    authorization = f"authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{authorization}"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connect(port: int) -> Client:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(Client, "127.0.0.1", port)
    return client


async def wait_ready(port: int) -> Client:
    for _ in range(300):
        try:
            client = await connect(port)
            status, _ = await client.request(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        except OSError:
            await asyncio.sleep(0.1)
            continue
        if status == 200:
            return client
        client.close()
        await asyncio.sleep(0.1)
    raise RuntimeError("stx serve did not start")
