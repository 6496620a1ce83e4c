"""Alerts raised in the surveillance process, streamed by the gateway's.

The surveillance process stores every alert it raises; the gateway follows
the store's alerts table by id (``Store.alerts_after``) and hands each new
one to its ``StreamAlerts`` subscribers. The store is the one thing both
processes share whether or not Redis is configured, and it already holds
every alert durably, so a gateway that restarts misses none it should
stream and no second channel can disagree with ``ListAlerts``.

Ids come from the database in insertion order, but with PostgreSQL two
concurrent inserts may commit out of id order; each poll therefore looks
back ``LOOK_BACK`` ids and skips those already delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from server.consumers.surveillance.desk import AlertDesk
from server.model.alerts import Alert
from server.store import Store

_log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
"""How long a new alert may wait before the gateway streams it."""
LOOK_BACK = 64
REMEMBERED = 4_096
"""Delivered ids kept to skip repeats in the look-back window."""


def _no_owner(_account: str) -> str | None:
    return None


def _no_tick(_symbol: str) -> int | None:
    return None


class AlertRelay(AlertDesk):
    """An ``AlertDesk`` that runs no detectors: it streams the alerts the
    store receives from another process, and files manual ones there."""

    def __init__(self, store: Store, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(store, _no_owner, _no_tick)
        self._poll_seconds = poll_seconds
        self._last = 0
        self._floor = 0
        """Alerts up to this id were stored before the relay began: not streamed."""
        self._delivered: set[int] = set()
        self._order: deque[int] = deque()
        self._relay: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._relay = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay

    async def begin(self) -> None:
        """Start after the alerts stored so far: subscribers get new ones."""
        self._last = self._floor = await self.store.last_alert_id()
        self.start()

    async def file(self, alert: Alert) -> Alert:
        (stored,) = await self.store.add_alerts([alert])
        self._deliver(stored)
        return stored

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                found = await self.store.alerts_after(max(self._last - LOOK_BACK, 0))
            except Exception:  # each backend's driver raises its own types
                _log.exception("could not read alerts from the store; retrying")
                continue
            for alert in found:
                self._deliver(alert)

    def _deliver(self, alert: Alert) -> None:
        number = int(alert.alert_id)
        if number <= self._floor or number in self._delivered:
            return
        self._delivered.add(number)
        self._order.append(number)
        if len(self._order) > REMEMBERED:
            self._delivered.discard(self._order.popleft())
        self._last = max(self._last, number)
        self._publish(alert)
