"""``/ws``: live market data and one's own execution reports for browsers.

Messages from the browser are JSON objects:

- ``{"op": "subscribe", "channel": "L1" | "L2" | "TRADES", "symbol": "AAPL"}``
- ``{"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE"}``,
  optionally with ``"after_report_sequence": N`` (a number or a decimal
  string) to replay the account's reports after N first, as
  ``ReportSubscription`` does: needs the access token, sent as
  ``?access_token=...`` on the URL or as ``{"op": "auth", "token": "..."}``
  (browsers cannot set headers on a WebSocket) and checked by the gRPC
  server like any call.
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
``QUEUE_LIMIT`` messages per subscription, each subscription queued apart
so that one's overflow never costs another a message: market data is then
conflated (the subscription is restarted, and the browser gets
``{"type": "resync"}`` followed by fresh snapshots), and a report or alert
subscription is ended with a ``SLOW_CONSUMER`` error, never left with a
silent gap: reports resume by
number with ``after_report_sequence``; alerts have no such number, so the
browser subscribes again and re-reads ``GET /risk/alerts`` after the new
stream's first ``alert_heartbeat``. A connection holds at most
``SUBSCRIPTION_LIMIT`` live subscriptions; one more is refused with
``TOO_MANY_SUBSCRIPTIONS``. An error is ``{"type": "error",
"data": {"message", "reason"}}``, the reason one of the ErrorInfo reasons
(``server/errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
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

from server.errors import (
    invalid_argument,
    malformed,
    reason_of,
    slow_consumer,
    status_of_call,
    too_many_subscriptions,
)
from server.gateways.rest.jsonmap import to_json
from server.journal.codec import FORWARDED_FOR

QUEUE_LIMIT = 1_000
SUBSCRIPTION_LIMIT = 64
"""Live subscriptions one connection may hold: each is a gRPC stream to the
exchange and up to ``QUEUE_LIMIT`` messages here, so a browser that kept
subscribing would otherwise grow both without bound."""
HEARTBEAT_SECONDS = 20.0
_CHANNELS = {
    "L1": market_data_pb2.MARKET_DATA_CHANNEL_L1,
    "L2": market_data_pb2.MARKET_DATA_CHANNEL_L2,
    "TRADES": market_data_pb2.MARKET_DATA_CHANNEL_TRADES,
}


class _Overflow(Exception):  # noqa: N818 - a signal between tasks
    pass


class _Outbox:
    """One subscription's messages not yet sent to the browser (or the
    connection's own, for refusals of bad requests), at most ``limit``."""

    __slots__ = ("done", "limit", "messages")

    def __init__(self, limit: int) -> None:
        self.messages: deque[dict[str, Any]] = deque()
        self.limit = limit
        self.done = False
        """The subscription ended: the outbox goes once it is sent."""


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
        subscription_limit: int = SUBSCRIPTION_LIMIT,
    ) -> None:
        self._channel = channel
        self._queue_limit = queue_limit
        self._subscription_limit = subscription_limit
        self._socket = socket
        self._token = token
        self._forwarded = ((FORWARDED_FOR, remote or ""),)
        self._control = _Outbox(queue_limit)
        self._outboxes: list[_Outbox] = [self._control]
        self._ready = asyncio.Event()
        """Set when a message is offered: the sender has work."""
        self._tasks: set[asyncio.Task[None]] = set()

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        if self._token:
            return (*self._forwarded, ("authorization", f"Bearer {self._token}"))
        return self._forwarded

    def _offer(self, outbox: _Outbox, message: dict[str, Any]) -> None:
        if len(outbox.messages) >= outbox.limit:
            raise _Overflow
        outbox.messages.append(message)
        self._ready.set()

    def _outbox(self) -> _Outbox:
        outbox = _Outbox(self._queue_limit)
        self._outboxes.append(outbox)
        return outbox

    @property
    def backlog(self) -> int:
        """Messages queued for the browser, not yet sent."""
        return sum(len(outbox.messages) for outbox in self._outboxes)

    @property
    def backlogs(self) -> tuple[int, ...]:
        """Messages queued per outbox: the connection's refusals first, then
        each live subscription in the order it was made."""
        return tuple(len(outbox.messages) for outbox in self._outboxes)

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

    def _refuse(
        self, status: status_pb2.Status, subject: str = "", outbox: _Outbox | None = None
    ) -> None:
        """Tell the browser of an error: its message and ErrorInfo reason. A
        refusal of a bad request is dropped if the browser left ``queue_limit``
        of them unread; a subscription's own error always fits, as its last
        message or after its outbox was emptied."""
        message = f"{subject}: {status.message}" if subject else status.message
        with contextlib.suppress(_Overflow):
            data = {"message": message, "reason": reason_of(status)}
            self._offer(outbox or self._control, {"type": "error", "data": data})

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
        if len(self._tasks) >= self._subscription_limit:
            self._refuse(
                too_many_subscriptions(
                    f"this connection already has {len(self._tasks)} live subscriptions, "
                    f"the most one may hold; subscribe on another connection"
                )
            )
            return
        channel = request.get("channel")
        if channel == "REPORTS":
            account = request.get("account_id")
            if not isinstance(account, str) or not account:
                self._refuse(invalid_argument("account_id", "REPORTS needs account_id"))
                return
            subscription = orders_pb2.ReportSubscription(account_id=account)
            after = request.get("after_report_sequence")
            if after is not None:
                if isinstance(after, str) and after.isascii() and after.isdigit():
                    after = int(after)
                if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**64:
                    self._refuse(
                        invalid_argument(
                            "after_report_sequence",
                            "after_report_sequence must be a whole number from 0",
                        )
                    )
                    return
                subscription.after_report_sequence = after
            self._start(self._reports(subscription))
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
        outbox = self._outbox()
        try:
            await self._market_into(outbox, symbol, channel)
        finally:
            self._finished(outbox)

    async def _market_into(self, outbox: _Outbox, symbol: str, channel: str) -> None:
        stub = market_data_pb2_grpc.MarketDataServiceStub(self._channel)
        request = market_data_pb2.SubscribeMarketDataRequest(
            symbols=[symbol],
            channels=[_CHANNELS[channel]],
        )
        while True:
            try:
                async for message in stub.SubscribeMarketData(request, metadata=self._metadata()):
                    kind = message.WhichOneof("event") or ""
                    self._offer(outbox, {"type": kind, "data": to_json(getattr(message, kind))})
                return
            except _Overflow:
                # Conflate: what is queued is stale; start again from snapshots.
                outbox.messages.clear()
                resync = {"type": "resync", "data": {"channel": channel, "symbol": symbol}}
                self._offer(outbox, resync)
            except grpc.aio.AioRpcError as failure:
                self._refuse(status_of_call(failure), f"{channel} {symbol}", outbox)
                return

    async def _reports(self, subscription: orders_pb2.ReportSubscription) -> None:
        outbox = self._outbox()
        try:
            await self._reports_into(outbox, subscription)
        finally:
            self._finished(outbox)

    async def _reports_into(
        self, outbox: _Outbox, subscribed: orders_pb2.ReportSubscription
    ) -> None:
        stub = orders_pb2_grpc.OrderServiceStub(self._channel)
        account = subscribed.account_id

        async def subscription() -> AsyncIterator[orders_pb2.OrderStreamRequest]:
            yield orders_pb2.OrderStreamRequest(subscriptions=[subscribed])
            await asyncio.Event().wait()  # keep the stream open until cancelled

        try:
            async for response in stub.OrderStream(subscription(), metadata=self._metadata()):
                for report in response.reports:
                    self._offer(outbox, {"type": "report", "data": to_json(report)})
                if response.HasField("heartbeat"):
                    beat = {"type": "heartbeat", "data": to_json(response.heartbeat)}
                    self._offer(outbox, beat)
        except _Overflow:
            outbox.messages.clear()
            self._refuse(
                slow_consumer(
                    "reports unread for too long: subscribe again with after_report_sequence"
                ),
                f"REPORTS {account}",
                outbox,
            )
        except grpc.aio.AioRpcError as failure:
            self._refuse(status_of_call(failure), f"REPORTS {account}", outbox)

    async def _alerts(self, request: risk_pb2.StreamAlertsRequest) -> None:
        outbox = self._outbox()
        try:
            await self._alerts_into(outbox, request)
        finally:
            self._finished(outbox)

    async def _alerts_into(self, outbox: _Outbox, request: risk_pb2.StreamAlertsRequest) -> None:
        stub = risk_pb2_grpc.RiskServiceStub(self._channel)
        try:
            async for response in stub.StreamAlerts(request, metadata=self._metadata()):
                if response.HasField("alert"):
                    self._offer(outbox, {"type": "alert", "data": to_json(response.alert)})
                else:
                    beat = {"type": "alert_heartbeat", "data": to_json(response.heartbeat)}
                    self._offer(outbox, beat)
        except _Overflow:
            outbox.messages.clear()
            self._refuse(
                slow_consumer(
                    "alerts unread for too long: subscribe again and re-read GET /risk/alerts"
                ),
                "ALERTS",
                outbox,
            )
        except grpc.aio.AioRpcError as failure:
            self._refuse(status_of_call(failure), "ALERTS", outbox)

    def _finished(self, outbox: _Outbox) -> None:
        outbox.done = True
        self._ready.set()

    async def _send(self) -> None:
        """One message from each outbox in turn, so that a busy market-data
        subscription cannot hold a report or an alert back behind its own."""
        while True:
            sent = False
            for outbox in tuple(self._outboxes):
                if outbox.messages:
                    message = outbox.messages.popleft()
                    await self._socket.send_str(orjson.dumps(message).decode())
                    sent = True
                elif outbox.done:
                    self._outboxes.remove(outbox)
            if not sent:
                # Nothing was awaited in this pass: nothing was offered since.
                self._ready.clear()
                await self._ready.wait()


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
