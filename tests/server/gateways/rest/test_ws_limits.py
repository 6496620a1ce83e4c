"""A ``/ws`` connection holds at most ``SUBSCRIPTION_LIMIT`` live
subscriptions (each is a gRPC stream and a queue in the bridge): one more is
refused with its reason, and those it holds go on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from server.app import Exchange
from server.gateways.rest.websocket import SUBSCRIPTION_LIMIT
from tests.server.gateways.rest.test_bridge import _run


def test_one_subscription_over_the_limit_is_refused_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, _: Exchange) -> None:
        async with http.ws_connect(f"{base}/ws") as socket:
            for _number in range(SUBSCRIPTION_LIMIT + 1):
                await socket.send_json({"op": "subscribe", "channel": "L1", "symbol": "AAPL"})
            errors: list[dict[str, Any]] = []
            snapshots = 0
            async with asyncio.timeout(20):
                while snapshots < SUBSCRIPTION_LIMIT or not errors:
                    message = await socket.receive_json()
                    if message["type"] == "error":
                        errors.append(message["data"])
                    else:
                        snapshots += 1
        assert snapshots == SUBSCRIPTION_LIMIT
        (refused,) = errors
        assert refused["reason"] == "TOO_MANY_SUBSCRIPTIONS"
        assert f"{SUBSCRIPTION_LIMIT} live subscriptions" in refused["message"]

    _run(tmp_path, scenario)
