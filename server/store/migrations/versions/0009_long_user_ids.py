"""user ids as long as single sign-on's

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:50:00

A user signed in through an OpenID Connect issuer is ``oidc:<sub>``, and a
subject may be up to 255 characters (a Keycloak id alone is 36). The
``auth_log`` entry of such a user's alert review, and the manual alert such
a user raises, did not fit ``String(32)``: PostgreSQL refused the insert, so
the review was stored without its audit entry and the alert not at all
(SQLite does not enforce the length, which hid it). The columns take any
user id the gateway admits, as ``alerts.reviewer_user_id`` already does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED = (("auth_log", "user_id"), ("auth_log", "username"), ("alerts", "creator_user_id"))


def upgrade() -> None:
    for table, column in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, type_=sa.String(length=260), existing_type=sa.String(length=32)
            )


def downgrade() -> None:
    for table, column in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, type_=sa.String(length=32), existing_type=sa.String(length=260)
            )
