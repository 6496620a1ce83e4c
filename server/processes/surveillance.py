"""``stx serve surveillance``: the detectors and the alert desk, off the core.

A replica follows the core over the link; each committed batch goes to the
``AlertDesk`` (its own queue and task), whose alerts are stored, and the
gateway streams them from the store (``alerts.AlertRelay``). The desk needs
each account's owner (wash trades are trades between accounts of one
owner): the owners are read from the store and read again, at most every
``OWNERS_SECONDS``, when an account without a known owner trades.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from prometheus_client.registry import REGISTRY
from sqlalchemy import select

from server.config import Settings
from server.consumers.surveillance.desk import AlertDesk
from server.link.client import CoreClient
from server.metrics.surveillance import AlertCounts
from server.processes.link import follow, replica_of
from server.processes.stores import open_configured_store
from server.store import Store
from server.store.schema import account_owners

_log = logging.getLogger("stx.surveillance")
OWNERS_SECONDS = 5.0


class AccountOwners:
    """Account -> owner's user id, from the store, refreshed in the background."""

    def __init__(self, store: Store, refresh_seconds: float = OWNERS_SECONDS) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._owners: dict[str, str] = {}
        self._next = 0.0
        self._loading: asyncio.Task[None] | None = None

    async def load(self) -> None:
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(account_owners.c.account_id, account_owners.c.user_id)
            )
            self._owners = {row.account_id: row.user_id for row in rows}
        self._next = time.monotonic() + self._refresh_seconds

    def get(self, account: str) -> str | None:
        owner = self._owners.get(account)
        if owner is None and self._loading is None and time.monotonic() >= self._next:
            # An account opened since the last read: read again, without
            # holding up the detectors (this trade goes without an owner).
            self._loading = asyncio.get_running_loop().create_task(self._reload())
        return owner

    async def _reload(self) -> None:
        try:
            await self.load()
        except Exception:  # each backend's driver raises its own types
            _log.exception("could not read the account owners; tried again later")
            self._next = time.monotonic() + self._refresh_seconds
        finally:
            self._loading = None


class SurveillanceProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: Store | None = None
        self.desk: AlertDesk | None = None
        self.client: CoreClient | None = None
        self._alerts: AlertCounts | None = None

    async def start(self) -> None:
        directory = Path(self.settings.data_dir)
        store = self.store = await open_configured_store(self.settings)
        owners = AccountOwners(store)
        await owners.load()
        replica = await replica_of(directory, market=False, registry=False)

        def tick_size_of(symbol: str) -> int | None:
            # The replica's engine, not one bound now: a replica that starts
            # again from a snapshot replaces it.
            book = replica.engine.books.get(symbol)
            return None if book is None else book.instrument.tick_size

        desk = self.desk = AlertDesk(store, owners.get, tick_size_of)
        if self.settings.metrics_port:
            self._alerts = AlertCounts(lambda: desk.raised_by_kind)
            REGISTRY.register(self._alerts)
        replica.batch_listeners.append(self.desk.listen)
        self.desk.start()
        self.client = await follow(directory, "surveillance", replica)

    async def stop(self) -> None:
        if self._alerts is not None:
            REGISTRY.unregister(self._alerts)
            self._alerts = None
        if self.client is not None:
            await self.client.stop()
        if self.desk is not None:
            await self.desk.stop()
        if self.store is not None:
            await self.store.close()
        _log.info("surveillance stopped")
