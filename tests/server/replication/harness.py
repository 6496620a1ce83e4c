"""A primary core with its replication listener and link, and standbys, in one
event loop over real sockets (TCP for replication, the Unix link for gateways)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability, recover
from server.journal.files import list_segments
from server.journal.tail import JournalTail
from server.link.listener import CoreLinkServer
from server.model.state import State
from server.replication.primary import ReplicationServer
from server.replication.settings import ReplicationSettings
from server.replication.standby import Standby


@contextlib.asynccontextmanager
async def primary(
    directory: Path, port: int = 0, **replication: Any
) -> AsyncIterator[tuple[ExchangeCore, ReplicationServer]]:
    """A core replicating on 127.0.0.1:``port``, its link gated in sync mode as
    ``stx serve core`` does it."""
    core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE)
    await core.start()
    server = ReplicationServer(core, ReplicationSettings(listen=f"127.0.0.1:{port}", **replication))
    await server.start()
    if server.sync:
        link = CoreLinkServer(core, source=server, admission=server.refusal)
    else:
        link = CoreLinkServer(core)
    await link.start()
    try:
        yield core, server
    finally:
        await link.close()
        await server.close()
        await core.close()


class PausableFsync:
    """An fsync that waits while paused: a standby that stops making records durable."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.running.set()

    def __call__(self, fd: int) -> None:
        self.running.wait(timeout=30)
        os.fsync(fd)


@contextlib.asynccontextmanager
async def standby(
    directory: Path, port: int, fsync: Callable[[int], None] | None = None, **options: Any
) -> AsyncIterator[Standby]:
    if fsync is not None:
        options["durability"] = Durability.ALWAYS
        options["fsync"] = fsync
    else:
        options.setdefault("durability", Durability.NONE)
    follower = Standby(directory, ("127.0.0.1", port), **options)
    await follower.start()
    try:
        yield follower
    finally:
        await follower.stop()


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for ``condition`` (polling the loop), failing after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.005)


def records(directory: Path, after: int | None = None) -> list[tuple[int, bytes]]:
    """The journal records in ``directory`` after ``after`` (from its oldest
    segment if None), in order (a gap raises)."""
    if after is None:
        segments = list_segments(directory)
        after = segments[0][0] - 1 if segments else 0
    return JournalTail(directory, after).read(10**9)


def same_journal(standby: Path, primary: Path) -> None:
    """The standby's journal holds the primary's records, byte for byte, from
    its oldest segment (older ones pruned after its snapshots) to the end."""
    kept = records(standby)
    assert kept
    assert kept == records(primary, kept[0][0] - 1)


def replayed_hash(directory: Path) -> str:
    """The engine hash of an independent recovery of ``directory``."""
    recovery = recover(directory)
    state = State.restore(recovery.snapshot)
    state.replay(recovery.records)
    return state.engine.state_hash()


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
