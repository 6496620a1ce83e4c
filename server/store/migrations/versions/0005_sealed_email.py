"""e-mail addresses sealed with AES-256-GCM, unique by a blind index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 04:30:00

``users.email`` becomes ``email_ciphertext`` (sealed under the current data
key, bound to the column and the user id) and ``email_index`` (HMAC of the
address under a key derived from the data key). Existing rows are sealed
here, so the migration needs the key ring: ``open_store`` passes it as the
``cipher`` attribute of the Alembic configuration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from server.store.field_crypto import FieldCipher
from server.store.personal import email_columns, email_of

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as this migration sees it, whatever schema.py says later.
_users = sa.table(
    "users",
    sa.column("user_id", sa.String),
    sa.column("email", sa.String),
    sa.column("email_ciphertext", sa.LargeBinary),
    sa.column("email_index", sa.String),
)


def _cipher() -> FieldCipher:
    cipher: FieldCipher | None = context.config.attributes.get("cipher")
    if cipher is None:
        raise RuntimeError(
            "migration 0005 seals the users' e-mail addresses and needs the data key: "
            "open the store with its key ring (stx serve and stx admin do)"
        )
    return cipher


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_users.c.user_id, _users.c.email)).all()
    # Refuse before changing anything: SQLite commits DDL outside a transaction
    # until the first write, so a later refusal would leave columns behind.
    cipher = _cipher() if rows else None
    # And if a crash did leave them, take them as they are.
    present = {column["name"] for column in sa.inspect(connection).get_columns("users")}
    if "email_ciphertext" not in present:
        op.add_column("users", sa.Column("email_ciphertext", sa.LargeBinary(), nullable=True))
    if "email_index" not in present:
        op.add_column("users", sa.Column("email_index", sa.String(length=64), nullable=True))
    if cipher is not None:
        for user_id, email in rows:
            connection.execute(
                _users.update()
                .where(_users.c.user_id == user_id)
                .values(**email_columns(cipher, user_id, email))
            )
    # open_store then vacuums the old row versions (with the address in clear) away.
    context.config.attributes["sealed_rows"] = len(rows)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
        batch.alter_column("email_ciphertext", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("email_index", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("users_email_index_key", ["email_index"])


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_users.c.user_id, _users.c.email_ciphertext)).all()
    cipher = _cipher() if rows else None
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    if cipher is not None:
        for user_id, sealed in rows:
            connection.execute(
                _users.update()
                .where(_users.c.user_id == user_id)
                .values(email=email_of(cipher, user_id, sealed))
            )
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("users_email_index_key", type_="unique")
        batch.drop_column("email_index")
        batch.drop_column("email_ciphertext")
        batch.alter_column("email", existing_type=sa.String(length=254), nullable=False)
        batch.create_unique_constraint("users_email_key", ["email"])
