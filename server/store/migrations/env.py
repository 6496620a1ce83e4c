"""Alembic environment: migrations run on a connection the store hands over.

The store opens an async engine (aiosqlite or asyncpg) and runs Alembic
inside ``connection.run_sync`` (Alembic's cookbook "connection sharing"), so
one code path migrates both backends and no second driver is needed.
"""

from __future__ import annotations

from alembic import context

from server.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through server.store.open_store, which passes a connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
