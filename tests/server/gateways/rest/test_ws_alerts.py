"""The ``/ws`` ALERTS channel over a real socket: an alert raised by a real
detector (a wash trade: an account trading with itself) reaches a subscribed
risk officer; a trader is refused with the reason; a reader that falls
``QUEUE_LIMIT`` alerts behind is told so instead of losing any silently."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from stocktraderx.v1 import options_pb2

from server.app import Exchange
from server.gateways.rest.websocket import Connection
from tests.server.gateways.rest.test_bridge import _order, _run, _sign_up
from tests.server.local import prepare_accounts


async def _next(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (others, such as heartbeats, skipped)."""
    while True:
        message: dict[str, Any] = await asyncio.wait_for(socket.receive_json(), 10)
        if message["type"] in (kind, "error"):
            return message


def test_a_wash_trade_reaches_the_risk_officer_and_a_trader_is_refused(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        alice = await _sign_up(http, base, "alice")
        trader_token = alice["authorization"].removeprefix("Bearer ")
        await prepare_accounts(exchange, "ALICE")
        assert exchange.tokens is not None
        officer, _ = exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))

        async with http.ws_connect(f"{base}/ws?access_token={trader_token}") as trader:
            await trader.send_json({"op": "subscribe", "channel": "ALERTS"})
            refused = await _next(trader, "alert")
            assert refused["type"] == "error"
            assert refused["data"]["reason"] == "FORBIDDEN"
            assert refused["data"]["message"].startswith("ALERTS: ")

        async with http.ws_connect(f"{base}/ws?access_token={officer}") as socket:
            await socket.send_json({"op": "subscribe", "channel": "ALERTS", "symbol": "AAPL"})
            # The first message says the stream is subscribed: the wash
            # trade below is raised after it, so it must be streamed.
            # (At once, not after the stream's 5 s quiet-time heartbeat.)
            first = await asyncio.wait_for(socket.receive_json(), 3)
            assert first["type"] == "alert_heartbeat", first
            for client_id, side in (("s1", "SIDE_SELL"), ("b1", "SIDE_BUY")):
                order = {**_order("ALICE", client_id), "side": side,
                         "self_trade_prevention": "SELF_TRADE_PREVENTION_NONE"}  # fmt: skip
                async with http.post(f"{base}/orders", json=order, headers=alice) as answer:
                    assert answer.status == 200, await answer.text()
            raised = await _next(socket, "alert")
            assert raised["type"] == "alert", raised
            alert = raised["data"]
            assert (alert["kind"], alert["account_id"], alert["symbol"]) == (
                "ALERT_KIND_WASH_TRADE", "ALICE", "AAPL",
            )  # fmt: skip
            evidence = alert["evidence"]
            assert len(evidence["trade_ids"]) == 1
            assert len(evidence["order_ids"]) == 2
            listed = await http.get(
                f"{base}/risk/alerts", headers={"authorization": f"Bearer {officer}"}
            )
            ids = [found["alert_id"] for found in (await listed.json())["alerts"]]
            assert alert["alert_id"] in ids
            assert alert["status"] == "ALERT_STATUS_OPEN"

            # The officer confirms the detector's alert: it comes again, reviewed.
            review = {"status": "ALERT_STATUS_CONFIRMED", "note": "same owner both sides"}
            async with http.post(
                f"{base}/risk/alerts/{alert['alert_id']}:resolve",
                json=review,
                headers={"authorization": f"Bearer {officer}"},
            ) as answer:
                assert answer.status == 200, await answer.text()
            again = await _next(socket, "alert")
            assert again["type"] == "alert", again
            assert {key: again["data"][key] for key in ("alert_id", "status", "review_count")} == {
                "alert_id": alert["alert_id"], "status": "ALERT_STATUS_CONFIRMED",
                "review_count": 1,
            }  # fmt: skip

    _run(tmp_path, scenario)


class _StalledBrowser:
    """A browser that subscribes to ALERTS and then reads nothing until
    ``release``: the bridge's first send blocks, the rest queue up."""

    def __init__(self, *subscriptions: dict[str, str]) -> None:
        self.sent: list[dict[str, Any]] = []
        """Every message the bridge sent, the first one while blocked."""
        self._subscriptions = subscriptions or ({"op": "subscribe", "channel": "ALERTS"},)
        self._released = asyncio.Event()
        self._closed = asyncio.Event()

    async def _frames(self) -> AsyncIterator[aiohttp.WSMessage]:
        for subscription in self._subscriptions:
            yield aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, json.dumps(subscription), None)
        await self._closed.wait()

    def __aiter__(self) -> AsyncIterator[aiohttp.WSMessage]:
        return self._frames()

    async def send_str(self, data: str, compress: int | None = None) -> None:
        self.sent.append(json.loads(data))
        await self._released.wait()

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._closed.set()


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


def test_an_alert_reader_left_behind_is_told_to_resubscribe(tmp_path: Path) -> None:
    """After ``queue_limit`` unsent messages the ALERTS subscription ends
    with SLOW_CONSUMER, naming what to do: no alert is dropped silently."""

    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        assert exchange.tokens is not None
        officer, _ = exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))
        headers = {"authorization": f"Bearer {officer}"}
        limit = 5
        browser = _StalledBrowser()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
            connection = Connection(channel, browser, officer, None, queue_limit=limit)
            running = asyncio.create_task(connection.run())

            async def file(count: int) -> None:
                for number in range(count):
                    body = {"severity": "ALERT_SEVERITY_LOW", "description": f"call {number}"}
                    async with http.post(f"{base}/risk/alerts", json=body, headers=headers) as a:
                        assert a.status == 200, await a.text()

            # The first heartbeat is in the blocked send; then `limit` alerts queue.
            await _until(lambda: len(browser.sent) == 1)
            await file(limit)
            await _until(lambda: connection.backlog == limit)
            await file(1)  # one too many: the queue is emptied for the error
            await _until(lambda: connection.backlog == 1)
            browser.release()
            await _until(lambda: len(browser.sent) == 2)
            browser.close()
            await running
        heartbeat, error = browser.sent
        assert heartbeat["type"] == "alert_heartbeat"
        assert error["type"] == "error"
        assert error["data"]["reason"] == "SLOW_CONSUMER"
        assert error["data"]["message"].startswith("ALERTS: alerts unread for too long")
        assert "GET /risk/alerts" in error["data"]["message"]

    _run(tmp_path, scenario)


def test_a_market_data_overflow_costs_an_alert_on_the_same_connection_nothing(
    tmp_path: Path,
) -> None:
    """One browser connection with ALERTS and L1: its market data overflows
    (conflated: emptied, then ``resync``) while an alert waits to be sent.
    Each subscription has its own queue, so the alert is still delivered;
    one queue for the connection once emptied it with the market data."""

    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        alice = await _sign_up(http, base, "alice")
        await prepare_accounts(exchange, "ALICE")
        assert exchange.tokens is not None
        officer, _ = exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))
        limit = 3
        browser = _StalledBrowser(
            {"op": "subscribe", "channel": "ALERTS"},
            {"op": "subscribe", "channel": "L1", "symbol": "AAPL"},
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
            connection = Connection(channel, browser, officer, None, queue_limit=limit)
            running = asyncio.create_task(connection.run())
            # One first message (the alerts' heartbeat or the quote's
            # snapshot) is in the blocked send, the other queued.
            await _until(lambda: len(browser.sent) == 1 and connection.backlog == 1)
            alerts_before = connection.backlogs[1]
            body = {"severity": "ALERT_SEVERITY_LOW", "description": "kept"}
            filed = await http.post(
                f"{base}/risk/alerts", json=body, headers={"authorization": f"Bearer {officer}"}
            )
            assert filed.status == 200, await filed.text()
            await _until(lambda: connection.backlogs[1] == alerts_before + 1)
            # Bids at rising prices: each one a new quote, until L1 overflows.
            overflowed = False
            for number in range(4 * limit):
                queued = connection.backlogs[2]
                price = f"{180 + number}.00"
                order = _order("ALICE", f"b{number}", price)
                async with http.post(f"{base}/orders", json=order, headers=alice) as answer:
                    assert answer.status == 200, await answer.text()
                await _until(lambda: connection.backlogs[2] != queued)  # noqa: B023 (awaited in this iteration)
                if connection.backlogs[2] < queued:
                    overflowed = True
                    break
            assert overflowed, "the quotes never overflowed the L1 subscription's queue"
            browser.release()
            await _until(lambda: connection.backlog == 0)
            browser.close()
            await running
        kinds = [message["type"] for message in browser.sent]
        assert "resync" in kinds
        alerts = [message["data"] for message in browser.sent if message["type"] == "alert"]
        assert [alert["description"] for alert in alerts] == ["kept"]

    _run(tmp_path, scenario)
