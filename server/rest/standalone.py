"""``stx rest``: the REST bridge in a process of its own, as grpc-gateway runs."""

from __future__ import annotations

import grpc
import uvloop
from aiohttp import web

from server.rest.bridge import RestBridge


async def _application(target: str) -> web.Application:
    channel = grpc.aio.insecure_channel(target)
    bridge = RestBridge(channel)

    async def close_channel(_: web.Application) -> None:
        await channel.close(None)

    bridge.app.on_cleanup.append(close_channel)
    return bridge.app


def run_bridge(target: str, host: str, port: int) -> None:
    web.run_app(_application(target), host=host, port=port, loop=uvloop.new_event_loop())
