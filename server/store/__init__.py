"""The relational system of record: a write-behind projection of the journal.

The journal stays the source of truth; the store is what people and
reports query (order history, executions, trades, bars, the audit log).
One schema (``schema.py``), versioned by Alembic (``migrations/``), on two
backends through SQLAlchemy Core: SQLite (aiosqlite) by default, embedded
under the data directory, and PostgreSQL (asyncpg) for production.
"""

from server.store.database import Store, default_url, open_store

__all__ = ["Store", "default_url", "open_store"]
