"""who sent each command, hash-chained audit entries, the authentication log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 06:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADDED = (
    ("user_id", 64),
    ("source", 64),
    ("gateway", 16),
    ("previous_hash", 64),
    ("hash", 64),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        for name, length in _ADDED:
            batch.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
    op.create_table(
        "auth_log",
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )


def downgrade() -> None:
    op.drop_table("auth_log")
    with op.batch_alter_table("audit_log") as batch:
        for name, _ in reversed(_ADDED):
            batch.drop_column(name)
