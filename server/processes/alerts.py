"""Alerts raised in the surveillance process, streamed by the gateway's.

The surveillance process stores every alert it raises; the gateway follows
the store's alerts table by id (``Store.alerts_after``) and hands each new
one to its ``StreamAlerts`` subscribers. The store is the one thing both
processes share whether or not Redis is configured, and it already holds
every alert durably, so a gateway that restarts misses none it should
stream and no second channel can disagree with ``ListAlerts``. Reviews are
followed the same way (``alert_reviews`` by id): a review made through one
gateway streams the reviewed alert from every gateway.

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
from server.store import Store, alert_reviews
from server.store.alert_reviews import Reviewed

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


class _Delivered:
    """The ids of one table already delivered: above a floor (what was
    stored before the relay began is not streamed), each once."""

    def __init__(self) -> None:
        self.last = 0
        self._floor = 0
        self._ids: set[int] = set()
        self._order: deque[int] = deque()

    def begin(self, last: int) -> None:
        self.last = self._floor = last

    @property
    def look_from(self) -> int:
        return max(self.last - LOOK_BACK, 0)

    def new(self, number: int) -> bool:
        return number > self._floor and number not in self._ids

    def first_time(self, number: int) -> bool:
        """Whether ``number`` is new (and remember it as delivered)."""
        if not self.new(number):
            return False
        self._ids.add(number)
        self._order.append(number)
        if len(self._order) > REMEMBERED:
            self._ids.discard(self._order.popleft())
        self.last = max(self.last, number)
        return True


class AlertRelay(AlertDesk):
    """An ``AlertDesk`` that runs no detectors: it streams the alerts the
    store receives from another process, and files manual ones there."""

    def __init__(self, store: Store, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(store, _no_owner, _no_tick)
        self._poll_seconds = poll_seconds
        self._alerts = _Delivered()
        self._reviews = _Delivered()
        self._relay: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._relay = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay

    async def begin(self) -> None:
        """Start after the alerts and reviews stored so far: subscribers get
        new ones."""
        self._alerts.begin(await self.store.last_alert_id())
        self._reviews.begin(await alert_reviews.last_review_id(self.store))
        self.start()

    async def file(self, alert: Alert) -> Alert:
        (stored,) = await self.store.add_alerts([alert])
        self._deliver(stored)
        return stored

    def _reviewed(self, reviewed: Reviewed) -> None:
        if self._reviews.first_time(reviewed.review.review_id):
            self._publish(reviewed.alert)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                found = await self.store.alerts_after(self._alerts.look_from)
                reviews = await alert_reviews.reviews_after(self.store, self._reviews.look_from)
                fresh = [review for review in reviews if self._reviews.new(review.review_id)]
                # The alerts as they stand now: one message per alert however
                # many reviews it had since the last poll.
                numbers = dict.fromkeys(int(review.alert_id) for review in fresh)
                current = [await alert_reviews.alert(self.store, number) for number in numbers]
            except Exception:  # each backend's driver raises its own types
                _log.exception("could not read alerts from the store; retrying")
                continue
            for new in found:
                self._deliver(new)
            for review in fresh:
                self._reviews.first_time(review.review_id)
            for changed in current:
                if changed is not None:
                    self._publish(changed)

    def _deliver(self, alert: Alert) -> None:
        if self._alerts.first_time(int(alert.alert_id)):
            self._publish(alert)
