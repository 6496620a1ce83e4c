"""execution reports keep the client request id of a cancel or replace

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:30:00

``order_events.client_request_id``: the id a client gave its cancel or
replace request, which the CANCELED, REPLACED, CANCEL_REJECTED and
REPLACE_REJECTED reports echo (issue 16, item 7). Reports written before it
had none, so existing rows take "".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_events") as batch:
        batch.add_column(
            sa.Column("client_request_id", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("order_events") as batch:
        batch.drop_column("client_request_id")
