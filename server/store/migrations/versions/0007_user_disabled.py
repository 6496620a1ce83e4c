"""users can be disabled by an administrator

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:10:00

``users.disable_time``: when an administrator disabled the user (AdminService
.DisableUser, issue 19), 0 while the user is enabled. Existing users are
enabled, so existing rows take 0.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("disable_time", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disable_time")
