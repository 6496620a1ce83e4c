"""``/ws``: live market data and one's own execution reports for browsers.

Messages from the browser are JSON objects:

- ``{"op": "subscribe", "channel": "L1" | "L2" | "TRADES", "symbol": "AAPL"}``
- ``{"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE"}``: needs
  the access token, sent as ``?access_token=...`` on the URL or as
  ``{"op": "auth", "token": "..."}`` (browsers cannot set headers on a
  WebSocket) and checked by the gRPC server like any call.
- ``{"op": "subscribe", "channel": "ALERTS"}``, optionally with
  ``"account_id"`` and ``"symbol"`` filters: the surveillance alerts as they
  are raised, with the rights of ``RiskService.StreamAlerts`` (risk officers
  and administrators; anyone else gets the refusal as an error).

Each subscription is a gRPC stream of this bridge to the exchange
(SubscribeMarketData, OrderStream, StreamAlerts); its messages go to the
browser as ``{"type": <event>, "data": {...}}`` with the same JSON as the
REST routes: ``alert`` and ``alert_heartbeat`` for ALERTS, whose first
message is an ``alert_heartbeat`` sent once the exchange has subscribed the
stream (a ``GET /risk/alerts`` read after it, merged by ``alert_id``, misses
no alert).
A browser that reads slowly never makes the bridge hold more than
``QUEUE_LIMIT`` messages: market data is then conflated (the subscription is
restarted, and the browser gets ``{"type": "resync"}`` followed by fresh
snapshots), and a report or alert subscription is ended with a
``SLOW_CONSUMER`` error, never left with a silent gap: reports resume by
number with ``after_report_sequence``; alerts have no such number, so the
browser subscribes again and re-reads ``GET /risk/alerts`` after the new
stream's first ``alert_heartbeat``. An error is ``{"type": "error",
"data": {"message", "reason"}}``, the reason one of the ErrorInfo reasons
(``server/errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import grpc
import orjson
from aiohttp import WSMessage, WSMsgType, web
from google.rpc import status_pb2
from stocktraderx.v1 import (
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)

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


class Browser(Protocol):
    """What a connection needs of its WebSocket (aiohttp's, or a test's)."""

    def __aiter__(self) -> AsyncIterator[WSMessage]: ...

    async def send_str(self, data: str, compress: int | None = None) -> None: ...


class Connection:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        socket: Browser,
        token: str,
        remote: str | None,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self._channel = channel
        self._queue_limit = queue_limit
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
        if self._queue.qsize() >= self._queue_limit:
            raise _Overflow
        self._queue.put_nowait(message)

    @property
    def backlog(self) -> int:
        """Messages queued for the browser, not yet sent."""
        return self._queue.qsize()

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
        elif channel == "ALERTS":
            account, symbol = request.get("account_id") or "", request.get("symbol") or ""
            if not isinstance(account, str) or not isinstance(symbol, str):
                self._refuse(invalid_argument("account_id", "ALERTS filters must be strings"))
                return
            filters = risk_pb2.StreamAlertsRequest(account_id=account, symbol=symbol)
            self._start(self._alerts(filters))
        elif channel in _CHANNELS:
            symbol = request.get("symbol")
            if not isinstance(symbol, str) or not symbol:
                self._refuse(invalid_argument("symbol", f"{channel} needs symbol"))
                return
            self._start(self._market(symbol, channel))
        else:
            known = "L1, L2, TRADES, REPORTS or ALERTS"
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

    async def _alerts(self, request: risk_pb2.StreamAlertsRequest) -> None:
        stub = risk_pb2_grpc.RiskServiceStub(self._channel)
        try:
            async for response in stub.StreamAlerts(request, metadata=self._metadata()):
                if response.HasField("alert"):
                    self._offer({"type": "alert", "data": to_json(response.alert)})
                else:
                    self._offer({"type": "alert_heartbeat", "data": to_json(response.heartbeat)})
        except _Overflow:
            self._drain()
            self._refuse(
                slow_consumer(
                    "alerts unread for too long: subscribe again and re-read GET /risk/alerts"
                ),
                "ALERTS",
            )
        except grpc.aio.AioRpcError as failure:
            self._refuse(status_of_call(failure), "ALERTS")

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
