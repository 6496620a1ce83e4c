"""Alert reviews in the store, on both backends: the rules against the status
read, every review kept, racing reviewers each changing the status they
read, alerts stored before migration 0008 open, and all of it read back by
a store opened afresh."""

from __future__ import annotations

import asyncio
import itertools

from server.model.alerts import Alert, AlertKind, AlertSeverity, AlertStatus, ReviewRefusal
from server.store import open_store
from server.store.alert_reviews import (
    Review,
    Reviewed,
    alert,
    last_review_id,
    review_alert,
    reviews_after,
    reviews_of,
)

SECOND = 1_000_000_000
OPEN, UNDER_REVIEW, ESCALATED = AlertStatus.OPEN, AlertStatus.UNDER_REVIEW, AlertStatus.ESCALATED
DISMISSED, CONFIRMED = AlertStatus.DISMISSED, AlertStatus.CONFIRMED


def _alert(number: int) -> Alert:
    return Alert(
        kind=AlertKind.WASH_TRADE, severity=AlertSeverity.MEDIUM, account="ACC", symbol="AAPL",
        description=f"alert {number}", order_ids=(number,), trade_ids=(), start_time=0,
        end_time=0, details=(), create_time=number * SECOND,
    )  # fmt: skip


def _review(
    number: int, status: AlertStatus, note: str = "", who: str = "officer", admin: bool = False
) -> Review:
    return Review(number, status, who, 100 * SECOND + number, note, admin)


def test_reviews_follow_the_rules_and_are_all_kept(store_url: str) -> None:
    async def scenario() -> None:
        store = await open_store(store_url)
        try:
            (stored,) = await store.add_alerts([_alert(1)])
            number = int(stored.alert_id)
            assert (stored.status, stored.review_count) == (OPEN, 0)
            assert await review_alert(store, _review(number + 1000, UNDER_REVIEW)) is (
                ReviewRefusal.UNKNOWN_ALERT
            )
            assert await review_alert(store, _review(number, OPEN)) is (
                ReviewRefusal.UNCHANGED_WITHOUT_NOTE
            )
            taken = await review_alert(store, _review(number, UNDER_REVIEW))
            assert isinstance(taken, Reviewed)
            assert (taken.alert.status, taken.alert.review_count) == (UNDER_REVIEW, 1)
            noted = await review_alert(store, _review(number, UNDER_REVIEW, "called the desk"))
            assert isinstance(noted, Reviewed)
            closed = await review_alert(store, _review(number, DISMISSED, "hedge"))
            assert isinstance(closed, Reviewed)
            assert await review_alert(store, _review(number, OPEN, "again")) is ReviewRefusal.CLOSED
            assert await review_alert(store, _review(number, CONFIRMED, "x")) is (
                ReviewRefusal.CLOSED
            )
            admin = _review(number, OPEN, "reopened", who="ops", admin=True)
            assert isinstance(await review_alert(store, admin), Reviewed)
            # Idempotent storing of the same alert keeps its review state.
            (again,) = await store.add_alerts([_alert(1)])
            assert again.alert_id == stored.alert_id
        finally:
            await store.close()

        fresh = await open_store(store_url)  # a restarted process reads it all back
        try:
            now = await alert(fresh, number)
            assert now is not None
            assert (now.status, now.reviewer_user_id, now.review_note, now.review_count) == (
                OPEN, "ops", "reopened", 4,
            )  # fmt: skip
            assert now.review_time == 100 * SECOND + number
            history = await reviews_of(fresh, number)
            assert [(r.from_status, r.to_status, r.reviewer_user_id, r.note) for r in history] == [
                (OPEN, UNDER_REVIEW, "officer", ""),
                (UNDER_REVIEW, UNDER_REVIEW, "officer", "called the desk"),
                (UNDER_REVIEW, DISMISSED, "officer", "hedge"),
                (DISMISSED, OPEN, "ops", "reopened"),
            ]
            assert [r.review_id for r in await reviews_after(fresh, history[1].review_id)] == [
                history[2].review_id, history[3].review_id,
            ]  # fmt: skip
            assert await last_review_id(fresh) == history[3].review_id
            page = await fresh.list_alerts(statuses=[OPEN])
            assert [a.alert_id for a in page.alerts] == [str(number)]
            assert (await fresh.list_alerts(statuses=[DISMISSED, CONFIRMED])).alerts == []
        finally:
            await fresh.close()

    asyncio.run(scenario())


def test_racing_reviewers_each_change_the_status_they_read(store_url: str) -> None:
    """Two processes review one alert at once, many times: the history is a
    chain (each review's from-status is the one before's to-status) with
    every review in it, and the row counts them all."""

    async def scenario() -> None:
        one, two = await open_store(store_url), await open_store(store_url)
        try:
            (stored,) = await one.add_alerts([_alert(2)])
            number = int(stored.alert_id)
            statuses = (UNDER_REVIEW, ESCALATED)

            async def reviewer(store: object, name: str) -> None:
                for turn in range(10):
                    review = Review(number, statuses[turn % 2], name, turn, f"{name} {turn}", False)
                    assert isinstance(await review_alert(store, review), Reviewed)  # type: ignore[arg-type]

            await asyncio.gather(reviewer(one, "a"), reviewer(two, "b"))
            history = await reviews_of(one, number)
            assert len(history) == 20
            assert history[0].from_status is OPEN
            for before, after in itertools.pairwise(history):
                assert after.from_status is before.to_status
            now = await alert(two, number)
            assert now is not None
            assert (now.review_count, now.status) == (20, history[-1].to_status)
        finally:
            await one.close()
            await two.close()

    asyncio.run(scenario())


def test_alerts_stored_before_reviews_existed_are_open(store_url: str) -> None:
    async def scenario() -> None:
        old = await open_store(store_url, revision="0007")
        try:
            (stored,) = await old.add_alerts([_alert(3)])
        finally:
            await old.close()
        store = await open_store(store_url)
        try:
            found = await alert(store, int(stored.alert_id))
            assert found is not None
            assert (found.status, found.review_count, found.reviewer_user_id) == (OPEN, 0, "")
            assert await reviews_of(store, int(stored.alert_id)) == []
        finally:
            await store.close()

    asyncio.run(scenario())
