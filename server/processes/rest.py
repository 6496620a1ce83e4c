"""``stx serve rest``: the REST bridge, in front of the gateway's gRPC port.

Stateless: each request becomes a gRPC call to the gateway, over mutual TLS
with the local CA's client certificate when TLS is on (the gateway made the
CA before this process starts).
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import grpc
from aiohttp import web

from server.config import Settings
from server.gateways.rest.bridge import RestBridge
from server.tracing.provider import active as active_tracing
from server.transport.credentials import grpc_channel_credentials, https_context, resolve
from server.transport.listen import ListenError, host_port, loopback_of, reason_of

_log = logging.getLogger("stx.rest")


async def start_bridge(
    settings: Settings, channel: grpc.aio.Channel, https: ssl.SSLContext | None
) -> tuple[web.AppRunner, int]:
    """The bridge over ``channel``, listening on the configured REST port
    (``ListenError`` if it is taken); the runner and the port."""
    tracing = active_tracing()
    bridge = RestBridge(
        channel,
        origins=frozenset(settings.cors_origins),
        tracer=tracing.tracer("stx.rest") if tracing is not None else None,
    )
    runner = web.AppRunner(bridge.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_address, settings.rest_port, ssl_context=https)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ListenError(
            "rest_port", settings.listen_address, settings.rest_port, reason_of(error)
        ) from None
    port: int = runner.addresses[0][1]
    _log.info(
        "REST bridge on %s://%s",
        "http" if https is None else "https",
        host_port(settings.listen_address, port),
    )
    return runner, port


class RestProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._channel: grpc.aio.Channel | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        settings = self.settings
        target = loopback_of(settings.listen_address, settings.grpc_port)
        tls = resolve(settings.tls, Path(settings.data_dir)) if settings.tls.enabled else None
        if tls is None:
            self._channel = grpc.aio.insecure_channel(target)
        else:
            self._channel = grpc.aio.secure_channel(target, grpc_channel_credentials(tls))
        https = https_context(tls) if tls is not None else None
        self._runner, _ = await start_bridge(settings, self._channel, https)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._channel is not None:
            await self._channel.close(None)
