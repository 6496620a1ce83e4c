"""surveillance alerts get a review status and a review history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:40:00

``alerts`` gains its review state (status, last reviewer, time, note and the
number of reviews; issue 22): existing alerts are open and never reviewed, so
existing rows take the defaults. ``alert_reviews`` keeps every review.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("status", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column("reviewer_user_id", sa.String(length=260), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("review_time", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("review_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("alerts_by_status", "alerts", ["status", "create_time", "alert_id"])
    op.create_table(
        "alert_reviews",
        sa.Column(
            "review_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("from_status", sa.Integer(), nullable=False),
        sa.Column("to_status", sa.Integer(), nullable=False),
        sa.Column("reviewer_user_id", sa.String(length=260), nullable=False),
        sa.Column("review_time", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("review_id"),
    )
    op.create_index("alert_reviews_by_alert", "alert_reviews", ["alert_id", "review_id"])


def downgrade() -> None:
    op.drop_table("alert_reviews")
    op.drop_index("alerts_by_status", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        for name in ("review_count", "review_note", "review_time", "reviewer_user_id", "status"):
            batch.drop_column(name)
