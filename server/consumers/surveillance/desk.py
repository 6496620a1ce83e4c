"""Surveillance off the hot path: detectors fed with committed batches, alerts
stored and handed to whoever streams them, again each time one is reviewed.

The sequencer's listener only appends the batch to a queue; a task of its
own runs the detectors, writes their alerts to the store and publishes them,
so a slow database delays alerts, never orders. Detector state lives in
memory: after a restart detection starts afresh (the stored alerts remain).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

from server.consumers.surveillance import Surveillance, SurveillanceConfig
from server.model.alerts import Alert, AlertKind, ReviewRefusal
from server.model.sequenced import Sequenced
from server.store import Store
from server.store.alert_reviews import Review, Reviewed, review_alert

_log = logging.getLogger(__name__)
SUBSCRIBER_BACKLOG = 1_000
"""Alerts kept for a subscriber that does not read. One more, and its queue
is emptied and ends with ``LEFT_BEHIND``: dropping alerts silently would
leave a surveillance screen with a gap nobody sees."""
LEFT_BEHIND = None
"""The last item of a subscriber's queue that fell ``SUBSCRIBER_BACKLOG`` behind."""


class AlertDesk:
    def __init__(
        self,
        store: Store,
        owner_of: Callable[[str], str | None],
        tick_size_of: Callable[[str], int | None],
        config: SurveillanceConfig | None = None,
    ) -> None:
        self.store = store
        self._surveillance = Surveillance(
            config or SurveillanceConfig(), owner_of, tick_size_of=tick_size_of
        )
        self._batches: asyncio.Queue[list[Sequenced]] = asyncio.Queue()
        self._subscribers: set[asyncio.Queue[Alert | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.raised = 0
        """Alerts raised by the detectors since start (for tests and metrics)."""
        self.raised_by_kind: Counter[AlertKind] = Counter()
        """The same, by kind (``stx_alerts_total``)."""

    def listen(self, batch: list[Sequenced]) -> None:
        """The sequencer's listener: hand the batch on, never block."""
        self._batches.put_nowait(batch)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = await self._batches.get()
            alerts = self._surveillance.observe(batch)
            if not alerts:
                continue
            self.raised += len(alerts)
            self.raised_by_kind.update(alert.kind for alert in alerts)
            try:
                stored = await self.store.add_alerts(alerts)
            except Exception:
                _log.exception("could not store %d surveillance alerts", len(alerts))
                continue
            for alert in stored:
                self._publish(alert)

    async def file(self, alert: Alert) -> Alert:
        """Store a manual alert and publish it."""
        (stored,) = await self.store.add_alerts([alert])
        self._publish(stored)
        return stored

    async def review(self, review: Review) -> Reviewed | ReviewRefusal:
        """Store a review and publish the alert as it now stands, or say why
        the review is refused."""
        outcome = await review_alert(self.store, review)
        if isinstance(outcome, Reviewed):
            self._reviewed(outcome)
        return outcome

    def _reviewed(self, reviewed: Reviewed) -> None:
        self._publish(reviewed.alert)

    def _publish(self, alert: Alert) -> None:
        for queue in tuple(self._subscribers):
            if queue.qsize() < SUBSCRIBER_BACKLOG:
                queue.put_nowait(alert)
                continue
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(LEFT_BEHIND)
            self._subscribers.discard(queue)

    def subscribe(self) -> asyncio.Queue[Alert | None]:
        """Every alert raised or reviewed from now on, in order; ``LEFT_BEHIND``
        (and nothing more) once ``SUBSCRIBER_BACKLOG`` are left unread."""
        queue: asyncio.Queue[Alert | None] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Alert | None]) -> None:
        self._subscribers.discard(queue)
