"""Reviews of surveillance alerts in the store: the alert's review state on
its row, every review in ``alert_reviews``.

A review reads the alert's status, applies the desk's rules
(``review_refusal``) and writes only if no other review came in between: the
row's ``review_count`` must still be the one read (compare and set), else it
reads again. So two reviewers racing (two gateways, or a risk officer and an
administrator) each get a history whose ``from_status`` is the status they
really changed, and a closed alert is never changed by a risk officer who
read it open. SQLite's driver runs the read outside a transaction and
PostgreSQL's default isolation lets it go stale, which is what the compare
and set is for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Row, func, select, update

from server.model.alerts import (
    Alert,
    AlertReview,
    AlertStatus,
    ReviewRefusal,
    review_refusal,
)
from server.store import schema
from server.store.database import Store, alert_from_row

ATTEMPTS = 20
"""Reads before giving up on an alert reviewed that often meanwhile: far more
than people reviewing one alert at once (giving up is a bug report)."""


@dataclass(frozen=True)
class Review:
    """What a reviewer asks: move ``alert_id`` to ``status`` with ``note``."""

    alert_id: int
    status: AlertStatus
    reviewer_user_id: str
    time: int
    note: str
    may_reopen: bool
    """The reviewer may change a closed alert (an administrator)."""


@dataclass(frozen=True)
class Reviewed:
    """A review stored: the alert as it now stands, and the review."""

    alert: Alert
    review: AlertReview


async def review_alert(store: Store, review: Review) -> Reviewed | ReviewRefusal:
    """Apply ``review`` and keep it in the history, or say why not."""
    alerts = schema.alerts
    for _ in range(ATTEMPTS):
        async with store.engine.begin() as connection:
            row = (
                await connection.execute(select(alerts).where(alerts.c.alert_id == review.alert_id))
            ).first()
            if row is None:
                return ReviewRefusal.UNKNOWN_ALERT
            current = alert_from_row(row)
            refusal = review_refusal(current.status, review.status, review.note, review.may_reopen)
            if refusal is not None:
                return refusal
            state = {
                "status": int(review.status),
                "reviewer_user_id": review.reviewer_user_id,
                "review_time": review.time,
                "review_note": review.note,
                "review_count": current.review_count + 1,
            }
            changed = await connection.execute(
                update(alerts)
                .where(alerts.c.alert_id == review.alert_id)
                .where(alerts.c.review_count == current.review_count)
                .values(**state)
            )
            if changed.rowcount != 1:
                continue  # another review came first: read it and decide again
            stored = await connection.execute(
                schema.alert_reviews.insert().values(
                    alert_id=review.alert_id,
                    from_status=int(current.status),
                    to_status=int(review.status),
                    reviewer_user_id=review.reviewer_user_id,
                    review_time=review.time,
                    note=review.note,
                )
            )
            (review_id,) = stored.inserted_primary_key or (0,)
        reviewed = AlertReview(
            alert_id=str(review.alert_id),
            review_id=int(review_id),
            from_status=current.status,
            to_status=review.status,
            reviewer_user_id=review.reviewer_user_id,
            review_time=review.time,
            note=review.note,
        )
        after = replace(
            current,
            status=review.status,
            reviewer_user_id=review.reviewer_user_id,
            review_time=review.time,
            review_note=review.note,
            review_count=current.review_count + 1,
        )
        return Reviewed(after, reviewed)
    raise RuntimeError(f"alert {review.alert_id} changed {ATTEMPTS} times while being reviewed")


async def alert(store: Store, alert_id: int) -> Alert | None:
    """One alert as it stands, or None."""
    alerts = schema.alerts
    query = select(alerts).where(alerts.c.alert_id == alert_id)
    async with store.engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return None if row is None else alert_from_row(row)


async def reviews_of(store: Store, alert_id: int) -> list[AlertReview]:
    """An alert's reviews, oldest first."""
    table = schema.alert_reviews
    query = select(table).where(table.c.alert_id == alert_id).order_by(table.c.review_id)
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [_review(row) for row in rows]


async def reviews_after(store: Store, review_id: int, limit: int = 1_000) -> list[AlertReview]:
    """Reviews stored with an id above ``review_id``, oldest first: how a
    gateway streams reviews made through another one."""
    table = schema.alert_reviews
    query = select(table).where(table.c.review_id > review_id).order_by(table.c.review_id)
    async with store.engine.connect() as connection:
        rows = (await connection.execute(query.limit(limit))).all()
    return [_review(row) for row in rows]


async def last_review_id(store: Store) -> int:
    """The highest review id stored; 0 when there is none."""
    async with store.engine.connect() as connection:
        found = await connection.scalar(select(func.max(schema.alert_reviews.c.review_id)))
    return int(found or 0)


def _review(row: Row[object]) -> AlertReview:
    return AlertReview(
        alert_id=str(row.alert_id),
        review_id=int(row.review_id),
        from_status=AlertStatus(row.from_status),
        to_status=AlertStatus(row.to_status),
        reviewer_user_id=row.reviewer_user_id,
        review_time=row.review_time,
        note=row.note,
    )
