"""A core with its link and the processes around it, in one event loop, over
a real Unix socket in a scratch data directory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from matching import FundAccount, RiskLimits, SetRiskLimits
from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.link.client import CoreClient
from server.link.listener import CoreLinkServer
from server.link.remote import RemoteSequencer
from server.link.replica import Replica
from server.model.view import SequencerView

CASH = 1_000_000_000_0000


@contextlib.asynccontextmanager
async def core_with_link(
    directory: Path, *, link: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[tuple[ExchangeCore, CoreLinkServer]]:
    options.setdefault("durability", Durability.NONE)
    core = ExchangeCore.open(directory, instruments(), **options)
    await core.start()
    server = CoreLinkServer(core, **(link or {}))
    await server.start()
    try:
        yield core, server
    finally:
        await server.close()
        await core.close()


@contextlib.asynccontextmanager
async def gateway(
    directory: Path, name: str = "gateway-1"
) -> AsyncIterator[tuple[CoreClient, RemoteSequencer]]:
    """A gateway's replica and sequencer, connected and caught up."""
    client = CoreClient(directory, Replica.open(directory), role="gateway", name=name)
    remote = RemoteSequencer(client)
    await client.start()
    try:
        await client.wait_ready(timeout=10)
        yield client, remote
    finally:
        await client.stop()


@contextlib.asynccontextmanager
async def consumer(
    directory: Path, name: str = "consumer-1", *, pace: float = 0.0
) -> AsyncIterator[CoreClient]:
    client = CoreClient(directory, Replica.open(directory), name=name, pace=pace)
    await client.start()
    try:
        await client.wait_ready(timeout=10)
        yield client
    finally:
        await client.stop()


async def fund(sequencer: SequencerView, *accounts: str) -> None:
    """Accounts with cash that may sell short, as an operator sets them up."""
    for account in accounts:
        sequencer.submit(
            SetRiskLimits(sequencer.now(), account, RiskLimits(allow_short_selling=True))
        )
        sequencer.submit(FundAccount(sequencer.now(), account, CASH))
    await sequencer.durable()


def same_state(core: ExchangeCore, replica: Replica) -> None:
    """The replica holds exactly the core's state (asserts)."""
    assert replica.sequence == core.sequencer.sequence
    assert replica.engine.state_hash() == core.engine.state_hash()
    assert replica.registry.snapshot() == core.registry.snapshot()
    assert replica.market.snapshot() == core.market.snapshot()
