"""``/ws``: live market data and one's own execution reports for browsers.

Messages from the browser are JSON objects:

- ``{"op": "subscribe", "channel": "L1" | "L2" | "TRADES", "symbol": "AAPL"}``
- ``{"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE"}``: needs
  the access token, sent as ``?access_token=...`` on the URL or as
  ``{"op": "auth", "token": "..."}`` (browsers cannot set headers on a
  WebSocket) and checked by the gRPC server like any call.

Each subscription is a gRPC stream of this bridge to the exchange
(SubscribeMarketData, OrderStream); its messages go to the browser as
``{"type": <event>, "data": {...}}`` with the same JSON as the REST routes.
A browser that reads slowly never makes the bridge hold more than
``QUEUE_LIMIT`` messages: market data is then conflated (the subscription is
restarted, and the browser gets ``{"type": "resync"}`` followed by fresh
snapshots), and a report subscription is ended with an error (reports resume
by number with ``after_report_sequence``). An error is ``{"type": "error",
"data": {"message", "reason"}}``, the reason one of the ErrorInfo reasons
(``server/errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
from aiohttp import WSMsgType, web
from google.rpc import status_pb2
from stocktraderx.v1 import market_data_pb2, market_data_pb2_grpc, orders_pb2, orders_pb2_grpc

from server.errors import invalid_argument, malformed, reason_of, slow_consumer, status_of_call
from server.gateways.rest.jsonmap import to_json
from server.journal.codec import FORWARDED_FOR

QUEUE_LIMIT = 1_000
HEARTBEAT_SECONDS = 20.0
_CHANNELS = {
    "L1": market_data_pb2.MARKET_DATA_CHANNEL_L1,
    "L2": market_data_pb2.MARKET_DATA_CHANNEL_L2,
    "TRADES": market_data_pb2.MARKET_DATA_CHANNEL_TRADES,
}


class _Overflow(Exception):  # noqa: N818 - a signal between tasks
    pass


class Connection:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        socket: web.WebSocketResponse,
        token: str,
        remote: str | None,
    ) -> None:
        self._channel = channel
        self._socket = socket
        self._token = token
        self._forwarded = ((FORWARDED_FOR, remote or ""),)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        if self._token:
            return (*self._forwarded, ("authorization", f"Bearer {self._token}"))
        return self._forwarded

    def _offer(self, message: dict[str, Any]) -> None:
        if self._queue.qsize() >= QUEUE_LIMIT:
            raise _Overflow
        self._queue.put_nowait(message)

    async def run(self) -> None:
        sender = asyncio.get_running_loop().create_task(self._send())
        try:
            async for frame in self._socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                try:
                    request = orjson.loads(frame.data)
                except orjson.JSONDecodeError:
                    self._refuse(malformed("messages must be JSON objects"))
                    continue
                self._handle(request)
        finally:
            sender.cancel()
            for task in self._tasks:
                task.cancel()

    def _refuse(self, status: status_pb2.Status, subject: str = "") -> None:
        """Tell the browser of an error: its message and ErrorInfo reason."""
        message = f"{subject}: {status.message}" if subject else status.message
        with contextlib.suppress(_Overflow):
            data = {"message": message, "reason": reason_of(status)}
            self._offer({"type": "error", "data": data})

    def _handle(self, request: Any) -> None:
        if not isinstance(request, dict):
            self._refuse(malformed("messages must be JSON objects"))
            return
        op = request.get("op")
        if op == "auth":
            self._token = str(request.get("token", ""))
            return
        if op != "subscribe":
            self._refuse(malformed(f"unknown op {op!r}: use subscribe or auth"))
            return
        channel = request.get("channel")
        if channel == "REPORTS":
            account = request.get("account_id")
            if not isinstance(account, str) or not account:
                self._refuse(invalid_argument("account_id", "REPORTS needs account_id"))
                return
            self._start(self._reports(account))
        elif channel in _CHANNELS:
            symbol = request.get("symbol")
            if not isinstance(symbol, str) or not symbol:
                self._refuse(invalid_argument("symbol", f"{channel} needs symbol"))
                return
            self._start(self._market(symbol, channel))
        else:
            known = "L1, L2, TRADES or REPORTS"
            self._refuse(invalid_argument("channel", f"unknown channel {channel!r}: {known}"))

    def _start(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _market(self, symbol: str, channel: str) -> None:
        stub = market_data_pb2_grpc.MarketDataServiceStub(self._channel)
        request = market_data_pb2.SubscribeMarketDataRequest(
            symbols=[symbol],
            channels=[_CHANNELS[channel]],
        )
        while True:
            try:
                async for message in stub.SubscribeMarketData(request, metadata=self._metadata()):
                    kind = message.WhichOneof("event") or ""
                    self._offer({"type": kind, "data": to_json(getattr(message, kind))})
                return
            except _Overflow:
                # Conflate: what is queued is stale; start again from snapshots.
                self._drain()
                self._offer({"type": "resync", "data": {"channel": channel, "symbol": symbol}})
            except grpc.aio.AioRpcError as failure:
                self._refuse(status_of_call(failure), f"{channel} {symbol}")
                return

    async def _reports(self, account: str) -> None:
        stub = orders_pb2_grpc.OrderServiceStub(self._channel)

        async def subscription() -> AsyncIterator[orders_pb2.OrderStreamRequest]:
            yield orders_pb2.OrderStreamRequest(
                subscriptions=[orders_pb2.ReportSubscription(account_id=account)]
            )
            await asyncio.Event().wait()  # keep the stream open until cancelled

        try:
            async for response in stub.OrderStream(subscription(), metadata=self._metadata()):
                for report in response.reports:
                    self._offer({"type": "report", "data": to_json(report)})
                if response.HasField("heartbeat"):
                    self._offer({"type": "heartbeat", "data": to_json(response.heartbeat)})
        except _Overflow:
            self._drain()
            self._refuse(
                slow_consumer(
                    "reports unread for too long: subscribe again with after_report_sequence"
                )
            )
        except grpc.aio.AioRpcError as failure:
            self._refuse(status_of_call(failure), f"REPORTS {account}")

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _send(self) -> None:
        while True:
            message = await self._queue.get()
            await self._socket.send_str(orjson.dumps(message).decode())


async def websocket_handler(
    request: web.Request, channel: grpc.aio.Channel
) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    await socket.prepare(request)
    token = request.query.get("access_token", "")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:]
    await Connection(channel, socket, token, request.remote).run()
    return socket
