"""Every process's end of the link to the core, built in one place.

The link itself (frames, the core's server, the replica, the client, the
remote sequencer) is ``server.link``'s; this module only says which role
uses which end, so the role modules read as what they do.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from server.core.exchange import ExchangeCore
from server.link.client import CoreClient
from server.link.remote import RemoteSequencer
from server.link.replica import Replica
from server.link.server import CoreLinkServer

SOCKET_NAME = "core.sock"
CoreLink = CoreLinkServer


def socket_path(directory: Path) -> Path:
    return directory / SOCKET_NAME


async def serve_link(core: ExchangeCore, directory: Path) -> CoreLinkServer:
    """The core's end: accepting gateways and consumers on ``core.sock``."""
    server = CoreLinkServer(core, socket_path(directory))
    await server.start()
    return server


async def replica_of(directory: Path) -> Replica:
    """The state as of the newest snapshot and the journal after it (read
    on a worker thread: a long journal is seconds of replay)."""
    return await asyncio.to_thread(Replica.open, directory)


async def follow(directory: Path, name: str, replica: Replica) -> CoreClient:
    """Keep ``replica`` in step with the core (as consumer ``name``): caught
    up from the journal, then live; returns once it holds everything
    committed when it connected."""
    client = CoreClient(
        socket_path(directory), replica, role="consumer", name=f"{name}-{os.getpid()}"
    )
    await client.start()
    await client.caught_up()
    return client


async def gateway_link(directory: Path) -> tuple[Replica, CoreClient]:
    """A gateway's replica, whose sequencer hands commands to the core."""
    replica = await replica_of(directory)
    client = CoreClient(
        socket_path(directory), replica, role="gateway", name=f"gateway-{os.getpid()}"
    )
    replica.sequencer = RemoteSequencer(client)
    await client.start()
    await client.caught_up()
    return replica, client


async def follow_positions(directory: Path, on_position: Callable[[int], None]) -> CoreClient:
    """Only the committed positions (the projector reads the journal itself)."""
    client = CoreClient(
        socket_path(directory), None, role="consumer", name=f"projector-{os.getpid()}",
        on_position=on_position,
    )  # fmt: skip
    await client.start()
    await client.caught_up()
    return client
