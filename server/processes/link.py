"""Every process's end of the link to the core, built in one place.

The link itself (frames, the core's server, the replica, the client, the
remote sequencer) is ``server.link``'s; this module only says which role
uses which end, so the role modules read as what they do.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from pathlib import Path

from server.core.exchange import ExchangeCore
from server.link.client import CoreClient
from server.link.listener import BatchSource, CoreLinkServer
from server.link.remote import RemoteSequencer
from server.link.replica import Replica

CONSUMER_PACE = 0.05
"""Seconds a consumer that is behind by design (store, analytics, surveillance,
relay) leaves the link unread after each read: it then wakes about twenty
times a second, whatever the order rate, instead of once per committed
batch. Market data is not paced: its subscribers see each batch at once."""


async def serve_link(
    core: ExchangeCore,
    source: BatchSource | None = None,
    admission: Callable[[], str | None] | None = None,
) -> CoreLinkServer:
    """The core's end: accepting gateways and consumers on ``core.sock``;
    fed by ``source`` (sync replication's gate) instead of the sequencer if given."""
    server = CoreLinkServer(core, source=source, admission=admission)
    await server.start()
    return server


async def replica_of(directory: Path, *, market: bool = True, registry: bool = True) -> Replica:
    """The state of the newest snapshot, restored on a worker thread (a big
    book is seconds of work); the client catches it up from the journal.
    ``market`` and ``registry``: whether the process reads them."""
    return await asyncio.to_thread(
        functools.partial(Replica.open, directory, market=market, registry=registry)
    )


async def follow(
    directory: Path, name: str, replica: Replica, *, pace: float = CONSUMER_PACE
) -> CoreClient:
    """Keep ``replica`` in step with the core, as consumer ``name``; returns
    once it holds everything the core had committed when it connected
    (waiting for a core that is not up yet)."""
    client = CoreClient(
        directory, replica, role="consumer", name=f"{name}-{os.getpid()}", pace=pace
    )
    await client.start()
    await client.wait_ready()
    return client


async def gateway_link(directory: Path) -> tuple[Replica, CoreClient]:
    """A gateway's replica, whose sequencer hands commands to the core."""
    replica = await replica_of(directory)
    client = CoreClient(directory, replica, role="gateway", name=f"gateway-{os.getpid()}")
    RemoteSequencer(client)  # attaches itself to the replica and the client
    await client.start()
    await client.wait_ready()
    return replica, client


async def follow_positions(
    directory: Path, on_position: Callable[[int], None], name: str = "projector"
) -> CoreClient:
    """Only the committed positions (the projector and analytics read the
    journal themselves)."""
    client = CoreClient(
        directory, None, role="consumer", name=f"{name}-{os.getpid()}", pace=CONSUMER_PACE
    )
    client.position_listeners.append(on_position)
    await client.start()
    await client.wait_ready()
    return client
