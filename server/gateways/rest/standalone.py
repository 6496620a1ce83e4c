"""``stx rest``: the REST bridge in a process of its own, as grpc-gateway runs.

With TLS on (the default) it serves HTTPS (TLS 1.3) with the server certificate
and calls the gRPC port over mutual TLS with the internal client certificate:
the configured files, or the local CA's in ``<data dir>/tls`` (which ``stx
serve`` on the same machine created).
"""

from __future__ import annotations

import grpc
import uvloop
from aiohttp import web

from server.gateways.rest.bridge import RestBridge
from server.transport.credentials import TlsMaterial, grpc_channel_credentials, https_context


async def _application(target: str, tls: TlsMaterial | None) -> web.Application:
    if tls is None:
        channel = grpc.aio.insecure_channel(target)
    else:
        channel = grpc.aio.secure_channel(target, grpc_channel_credentials(tls))
    bridge = RestBridge(channel)

    async def close_channel(_: web.Application) -> None:
        await channel.close(None)

    bridge.app.on_cleanup.append(close_channel)
    return bridge.app


def run_bridge(target: str, host: str, port: int, tls: TlsMaterial | None) -> None:
    web.run_app(
        _application(target, tls),
        host=host,
        port=port,
        ssl_context=https_context(tls) if tls is not None else None,
        loop=uvloop.new_event_loop(),
        access_log=None,  # as the rest role: no line per request
    )
