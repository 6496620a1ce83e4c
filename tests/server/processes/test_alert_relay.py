"""The gateway streams alerts raised in the surveillance process: through the
store, each once, none from before it began, manual ones too, and reviewed
ones again (both backends)."""

from __future__ import annotations

import asyncio

from server.consumers.surveillance import Alert, AlertKind, AlertSeverity
from server.consumers.surveillance.desk import LEFT_BEHIND, SUBSCRIBER_BACKLOG
from server.model.alerts import AlertStatus
from server.processes.alerts import AlertRelay
from server.store import open_store
from server.store.alert_reviews import Review, Reviewed, review_alert

SECOND = 1_000_000_000
UNDER_REVIEW, ESCALATED = AlertStatus.UNDER_REVIEW, AlertStatus.ESCALATED
DISMISSED = AlertStatus.DISMISSED


def _alert(number: int, kind: AlertKind = AlertKind.SPOOFING) -> Alert:
    return Alert(
        kind=kind, severity=AlertSeverity.HIGH, account="ACC", symbol="AAPL",
        description=f"alert {number}", order_ids=(number,), trade_ids=(), start_time=number,
        end_time=number + 1, details=(("n", str(number)),), create_time=number * SECOND,
    )  # fmt: skip


async def _next(queue: asyncio.Queue[Alert | None]) -> Alert:
    alert = await asyncio.wait_for(queue.get(), 10)
    assert alert is not None, "the subscriber was left behind"
    return alert


def test_alerts_stored_by_another_process_reach_the_gateways_subscribers(
    store_url: str,
) -> None:
    async def scenario() -> None:
        surveillance = await open_store(store_url)  # the surveillance process's store
        gateway = await open_store(store_url)
        relay = AlertRelay(gateway, poll_seconds=0.02)
        try:
            await surveillance.add_alerts([_alert(1)])  # before the gateway began
            await relay.begin()
            queue = relay.subscribe()
            await surveillance.add_alerts([_alert(2), _alert(3)])
            assert [(await _next(queue)).description for _ in range(2)] == ["alert 2", "alert 3"]
            filed = await relay.file(_alert(4, AlertKind.MANUAL))
            assert (await _next(queue)).alert_id == filed.alert_id
            await surveillance.add_alerts([_alert(5)])
            assert (await _next(queue)).description == "alert 5"
            await asyncio.sleep(0.2)  # several polls: nothing is delivered twice
            assert queue.empty()
        finally:
            await relay.stop()
            await gateway.close()
            await surveillance.close()

    asyncio.run(scenario())


def test_reviews_made_through_another_gateway_stream_the_reviewed_alert(
    store_url: str,
) -> None:
    """A review stored by one gateway (or before this one began, not streamed)
    reaches this gateway's subscribers as the alert as it now stands, once;
    one made through this gateway is streamed at once and not again."""

    async def scenario() -> None:
        other = await open_store(store_url)  # another gateway's store
        gateway = await open_store(store_url)
        relay = AlertRelay(gateway, poll_seconds=0.02)
        try:
            first, second = await other.add_alerts([_alert(1), _alert(2)])
            number = int(first.alert_id)
            await review_alert(other, Review(number, UNDER_REVIEW, "a", 1, "", False))
            await relay.begin()
            queue = relay.subscribe()
            await review_alert(other, Review(number, ESCALATED, "b", 2, "to compliance", False))
            reviewed = await _next(queue)
            assert (reviewed.alert_id, reviewed.status, reviewed.review_count) == (
                first.alert_id, ESCALATED, 2,
            )  # fmt: skip
            mine = await relay.review(
                Review(int(second.alert_id), DISMISSED, "c", 3, "hedge", False)
            )
            assert isinstance(mine, Reviewed)
            assert (await _next(queue)).status == DISMISSED
            await asyncio.sleep(0.2)  # several polls: nothing is delivered twice
            assert queue.empty()
        finally:
            await relay.stop()
            await gateway.close()
            await other.close()

    asyncio.run(scenario())


def test_a_subscriber_left_behind_is_told_so_and_loses_nothing_silently(
    store_url: str,
) -> None:
    """A subscriber that leaves ``SUBSCRIBER_BACKLOG`` alerts unread gets its
    queue emptied and ``LEFT_BEHIND`` instead of the next one (StreamAlerts
    then ends with SLOW_CONSUMER), and nothing after it; a subscriber that
    reads gets every alert. Dropping the oldest kept the stream going with a
    gap nobody was told of."""

    async def scenario() -> None:
        surveillance = await open_store(store_url)
        gateway = await open_store(store_url)
        relay = AlertRelay(gateway, poll_seconds=0.02)
        try:
            await relay.begin()
            stalled, reading = relay.subscribe(), relay.subscribe()
            received: list[Alert] = []

            async def read(count: int) -> None:
                while len(received) < count:
                    received.append(await _next(reading))

            await surveillance.add_alerts([_alert(n) for n in range(SUBSCRIBER_BACKLOG + 1)])
            # Each alert goes to both subscribers in turn: once the reader has
            # the last, the stalled one was handed it too.
            await asyncio.wait_for(read(SUBSCRIBER_BACKLOG + 1), 30)
            assert stalled.qsize() == 1
            assert stalled.get_nowait() is LEFT_BEHIND
            await surveillance.add_alerts([_alert(SUBSCRIBER_BACKLOG + 1)])
            await asyncio.wait_for(read(SUBSCRIBER_BACKLOG + 2), 30)
            assert [alert.description for alert in received] == [
                f"alert {number}" for number in range(SUBSCRIBER_BACKLOG + 2)
            ]
            assert stalled.empty()  # nothing more reaches it
        finally:
            await relay.stop()
            await gateway.close()
            await surveillance.close()

    asyncio.run(scenario())
