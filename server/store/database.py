"""Opening the store, migrating it, and the few statements it runs.

SQLAlchemy Core builds every statement once for both backends; the only
dialect-specific piece is which ``insert`` construct offers
``ON CONFLICT`` (PostgreSQL's and SQLite's have the same interface).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Row, Table, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.audit import GENESIS
from server.model.alerts import Alert, AlertKind, AlertSeverity, AlertStatus
from server.store import schema
from server.store.batch import ProjectionBatch
from server.store.data_key import ENV_FILE, ENV_KEY, DataKeyError
from server.store.field_crypto import FieldCipher
from server.store.personal import reseal_users

_MIGRATIONS = Path(__file__).with_name("migrations")
PROJECTION = "journal"
_ALERT_CHUNK = 500
"""Fingerprints per lookup after storing alerts: well inside every backend's
limit on bound parameters."""


def default_url(data_dir: Path) -> str:
    """The embedded default: a SQLite file under the data directory."""
    return f"sqlite:///{Path(data_dir).resolve() / 'stx.db'}"


def _async_url(url: str) -> str:
    """Accept the plain URLs people write and pick the asyncio driver."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise ValueError(f"unsupported database URL {url!r}: use postgresql://... or sqlite:///...")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers (the query RPCs) run while the projector writes;
    # NORMAL is durable across process crashes, and the journal covers the rest.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Zero what is deleted, so a value replaced by its sealed form is gone from
    # the file (Debian's SQLite does this by default; other builds may not).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _migrate(connection: Connection, cipher: FieldCipher | None, revision: str) -> int:
    """Upgrade to ``revision``; how many rows of personal data it sealed."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    # Migrations that seal or open personal data (0005) find the key ring here,
    # and count what they sealed there.
    config.attributes["cipher"] = cipher
    command.upgrade(config, revision)
    return int(config.attributes.get("sealed_rows", 0))


async def _scrub(engine: AsyncEngine) -> None:
    """Remove the old row versions a migration that sealed data in place left
    behind: PostgreSQL keeps them as dead tuples until a vacuum, SQLite in its
    write-ahead log until a checkpoint (the file itself is zeroed by
    secure_delete)."""
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM FULL users")
        else:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


async def _check_key_ring(engine: AsyncEngine, cipher: FieldCipher) -> None:
    """Refuse a key ring that cannot open the newest sealed value: a process
    given another key (a second host that made its own) would seal new rows
    that the exchange cannot read, under blind indexes that miss duplicates."""
    async with engine.connect() as connection:
        newest = await connection.scalar(
            select(schema.users.c.email_ciphertext)
            .order_by(schema.users.c.create_time.desc())
            .limit(1)
        )
    if newest is not None and not cipher.has_key(FieldCipher.sealed_key_id(newest)):
        raise DataKeyError(
            f"the store's personal data is sealed under data key "
            f"{FieldCipher.sealed_key_id(newest).hex()}, which is not among this process's "
            f"keys: give every process using this database the same keys "
            f"({ENV_KEY} or {ENV_FILE})"
        )


async def open_store(
    url: str, cipher: FieldCipher | None = None, *, revision: str = "head"
) -> Store:
    """Connect, bring the schema to ``revision`` (the newest unless a test asks
    for an older one), and return the store.

    ``cipher`` seals and opens the personal data (``server/store/personal.py``);
    a store opened without one serves everything else, and refuses to migrate
    users whose data would need sealing.
    """
    engine = create_async_engine(_async_url(url), pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        path = engine.url.database
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        async with engine.begin() as connection:
            sealed = await connection.run_sync(_migrate, cipher, revision)
        if sealed:
            await _scrub(engine)
        if cipher is not None and revision == "head":
            await _check_key_ring(engine, cipher)
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine, cipher)


class Store:
    def __init__(self, engine: AsyncEngine, cipher: FieldCipher | None = None) -> None:
        self.engine = engine
        self._cipher = cipher
        module = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert = module.insert
        self._compiled: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def cipher(self) -> FieldCipher:
        """What seals and opens personal data in this store."""
        if self._cipher is None:
            raise RuntimeError("the store was opened without data keys: it holds no personal data")
        return self._cipher

    async def reseal(self) -> int:
        """Re-seal every personal value not under the current data key (after a
        rotation), in one transaction; how many rows changed."""
        async with self.engine.begin() as connection:
            return await connection.run_sync(reseal_users, self.cipher)

    async def close(self) -> None:
        await self.engine.dispose()

    # -- the projector's side ------------------------------------------------

    async def position(self) -> int:
        """The sequence of the last command whose rows are in the store."""
        async with self.engine.connect() as connection:
            found = await connection.scalar(
                select(schema.projection.c.last_sequence).where(
                    schema.projection.c.name == PROJECTION
                )
            )
        return int(found or 0)

    async def write(self, batch: ProjectionBatch) -> None:
        """Write ``batch`` and move the position to its last sequence, atomically:
        a crash leaves either all of it or none, so resuming from the position
        neither repeats nor skips a row."""
        async with self.engine.begin() as connection:
            await self._write(connection, batch)

    async def _write(self, connection: AsyncConnection, batch: ProjectionBatch) -> None:
        # The position first: the driver opens the transaction at the first
        # statement through SQLAlchemy, and the COPYs below must run inside it.
        position = {
            "name": PROJECTION,
            "last_sequence": batch.last_sequence,
            "updated_time": time.time_ns(),
        }
        await self._upsert_many(connection, schema.projection, ["name"], [position])
        for table, rows in (
            (schema.audit_log, batch.audit),
            (schema.order_events, batch.order_events),
            (schema.executions, batch.executions),
            (schema.trades, batch.trades),
        ):
            if rows:
                await self._append(connection, table, rows)
        if batch.accounts:
            await self._execute_many(
                connection,
                ("insert-new", schema.accounts.name),
                lambda: self._insert(schema.accounts).on_conflict_do_nothing(
                    index_elements=["account_id"]
                ),
                list(batch.accounts.values()),
            )
        for table, rows, keys in (
            (schema.orders, list(batch.orders.values()), ["order_id"]),
            (schema.instruments, list(batch.instruments.values()), ["symbol"]),
            (schema.bars, list(batch.bars.values()), ["symbol", "interval", "start_time"]),
        ):
            if rows:
                await self._upsert_many(connection, table, keys, rows)

    async def _append(
        self, connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows that are new by construction. PostgreSQL takes them by
        COPY, its bulk path; SQLite by one prepared statement, many times."""
        if self.backend != "postgresql":
            await self._execute_many(
                connection, ("insert", table.name), lambda: self._insert(table), rows
            )
            return
        columns = [column.name for column in table.columns]
        records = [tuple(row[name] for name in columns) for row in rows]
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(table.name, records=records, columns=columns)

    async def _upsert_many(
        self, connection: AsyncConnection, table: Table, keys: list[str], rows: list[dict[str, Any]]
    ) -> None:
        await self._execute_many(
            connection, ("upsert", table.name, *keys), lambda: self._upsert(table, keys), rows
        )

    async def _execute_many(
        self,
        connection: AsyncConnection,
        key: tuple[str, ...],
        statement: Callable[[], Any],
        rows: list[dict[str, Any]],
    ) -> None:
        """Run the statement ``statement()`` builds once per row through the
        driver directly.

        SQLAlchemy compiles it for the backend once, cached under ``key``:
        building or even printing a statement compiles it, which cost the
        projector about 45% of its CPU at a few hundred commands a second
        (py-spy) when the cache was keyed by the statement's text. The rows
        go to the driver's executemany as tuples, which skips SQLAlchemy's
        per-row parameter processing: that processing was the largest cost
        of projection into PostgreSQL (py-spy).
        """
        compiled = self._compiled.get(key)
        if compiled is None:
            result = statement().compile(dialect=self.engine.dialect)
            compiled = self._compiled[key] = (str(result), tuple(result.positiontup or ()))
        sql, names = compiled
        await connection.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])

    def _upsert(self, table: Table, keys: list[str]) -> Any:
        statement = self._insert(table)
        return statement.on_conflict_do_update(
            index_elements=keys,
            set_={
                column.name: statement.excluded[column.name]
                for column in table.columns
                if column.name not in keys
            },
        )

    async def audit_hash(self, sequence: int) -> str:
        """The chain hash of audit entry ``sequence`` (the genesis value for 0)."""
        if not sequence:
            return GENESIS
        async with self.engine.connect() as connection:
            found = await connection.scalar(
                select(schema.audit_log.c.hash).where(schema.audit_log.c.sequence == sequence)
            )
        if found is None:
            raise ValueError(f"the store has no audit entry {sequence}")
        return str(found)

    async def latest_bars(self) -> list[Row[Any]]:
        """The newest bar of every symbol and interval: where projection resumes."""
        bars = schema.bars
        newest = (
            select(bars.c.symbol, bars.c.interval, func.max(bars.c.start_time).label("start"))
            .group_by(bars.c.symbol, bars.c.interval)
            .subquery()
        )
        query = select(bars).join(
            newest,
            (bars.c.symbol == newest.c.symbol)
            & (bars.c.interval == newest.c.interval)
            & (bars.c.start_time == newest.c.start),
        )
        return await self._all(query)

    # -- queries -------------------------------------------------------------

    async def _all(self, query: Any) -> list[Row[Any]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(query)
            return list(result.all())

    async def order(self, order_id: int) -> Row[Any] | None:
        rows = await self._all(select(schema.orders).where(schema.orders.c.order_id == order_id))
        return rows[0] if rows else None

    async def orders_page(
        self,
        *,
        account: str,
        symbol: str,
        client_order_id: str,
        before: int | None,
        limit: int,
    ) -> list[Row[Any]]:
        """Orders with ids below ``before`` (all if None), newest first, filtered
        like ListOrders."""
        orders = schema.orders
        query = select(orders)
        if before is not None:
            query = query.where(orders.c.order_id < before)
        if account:
            query = query.where(orders.c.account_id == account)
        if symbol:
            query = query.where(orders.c.symbol == symbol)
        if client_order_id:
            query = query.where(orders.c.client_order_id == client_order_id)
        return await self._all(query.order_by(orders.c.order_id.desc()).limit(limit))

    async def reports_page(
        self, *, account: str, after: int, symbol: str, order_id: int, limit: int
    ) -> list[Row[Any]]:
        """Execution reports of ``account`` numbered above ``after``, in order."""
        events = schema.order_events
        query = select(events).where(
            (events.c.account_id == account) & (events.c.report_sequence > after)
        )
        if symbol:
            query = query.where(events.c.symbol == symbol)
        if order_id:
            query = query.where(events.c.order_id == order_id)
        return await self._all(query.order_by(events.c.report_sequence).limit(limit))

    async def trades_page(self, *, symbol: str, before: int, limit: int) -> list[Row[Any]]:
        """Trades of ``symbol`` with ids below ``before`` (0: none), newest first."""
        trades = schema.trades
        query = select(trades).where(trades.c.symbol == symbol)
        if before:
            query = query.where(trades.c.trade_id < before)
        return await self._all(query.order_by(trades.c.trade_id.desc()).limit(limit))

    async def bars_page(
        self, *, symbol: str, interval: int, start: int, end: int | None, after: int, limit: int
    ) -> list[Row[Any]]:
        """Bars of ``symbol`` starting in [start, end) and after ``after``, oldest first."""
        bars = schema.bars
        query = select(bars).where(
            (bars.c.symbol == symbol)
            & (bars.c.interval == interval)
            & (bars.c.start_time >= max(start, after + 1 if after else start))
        )
        if end is not None:
            query = query.where(bars.c.start_time < end)
        return await self._all(query.order_by(bars.c.start_time).limit(limit))

    # -- surveillance alerts -------------------------------------------------

    async def add_alerts(self, alerts: list[Alert]) -> list[Alert]:
        """Store ``alerts`` and return them with their ids, in the same order.

        Idempotent: an alert equal in every field to a stored one (the same
        command replayed from the journal raises the same alert) is not
        stored twice; it comes back with the stored one's id.
        """
        if not alerts:
            return []
        table = schema.alerts
        rows = [_alert_row(alert) for alert in alerts]
        fingerprints = list(dict.fromkeys(row["fingerprint"] for row in rows))
        ids: dict[str, int] = {}
        async with self.engine.begin() as connection:
            insert = self._insert(table).on_conflict_do_nothing(index_elements=["fingerprint"])
            await connection.execute(insert, rows)
            for start in range(0, len(fingerprints), _ALERT_CHUNK):
                chunk = fingerprints[start : start + _ALERT_CHUNK]
                found = await connection.execute(
                    select(table.c.fingerprint, table.c.alert_id).where(
                        table.c.fingerprint.in_(chunk)
                    )
                )
                ids.update((fingerprint, alert_id) for fingerprint, alert_id in found.all())
        return [
            replace(alert, alert_id=str(ids[row["fingerprint"]]))
            for alert, row in zip(alerts, rows, strict=True)
        ]

    async def alerts_after(self, alert_id: int, limit: int = 1_000) -> list[Alert]:
        """Alerts stored with an id above ``alert_id``, oldest first: how a
        process that did not raise them (the gateway) follows them."""
        table = schema.alerts
        query = select(table).where(table.c.alert_id > alert_id)
        rows = await self._all(query.order_by(table.c.alert_id).limit(limit))
        return [alert_from_row(row) for row in rows]

    async def last_alert_id(self) -> int:
        """The highest alert id stored; 0 when there is none."""
        async with self.engine.connect() as connection:
            return int(await connection.scalar(select(func.max(schema.alerts.c.alert_id))) or 0)

    async def list_alerts(
        self,
        account: str = "",
        symbol: str = "",
        kinds: Iterable[AlertKind] = (),
        min_severity: int = 0,
        statuses: Iterable[AlertStatus] = (),
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 100,
        before: tuple[int, str] | None = None,
    ) -> AlertPage:
        """Alerts newest first (by ``create_time``, then id), filtered like
        ListAlerts: raised in ``[start_time, end_time)``, at least
        ``min_severity``, of ``kinds`` and in ``statuses`` (empty: any).
        ``before`` is a previous page's ``next_before``: keyset paging, so
        pages neither skip nor repeat alerts stored meanwhile."""
        if limit < 1:
            raise ValueError(f"limit must be positive, not {limit}")
        table = schema.alerts
        query = select(table)
        if account:
            query = query.where(table.c.account_id == account)
        if symbol:
            query = query.where(table.c.symbol == symbol)
        wanted = sorted({int(kind) for kind in kinds})
        if wanted:
            query = query.where(table.c.kind.in_(wanted))
        if min_severity:
            query = query.where(table.c.severity >= int(min_severity))
        in_status = sorted({int(status) for status in statuses})
        if in_status:
            query = query.where(table.c.status.in_(in_status))
        if start_time is not None:
            query = query.where(table.c.create_time >= start_time)
        if end_time is not None:
            query = query.where(table.c.create_time < end_time)
        if before is not None:
            before_time, before_id = before[0], int(before[1])
            query = query.where(
                (table.c.create_time < before_time)
                | ((table.c.create_time == before_time) & (table.c.alert_id < before_id))
            )
        query = query.order_by(table.c.create_time.desc(), table.c.alert_id.desc())
        rows = await self._all(query.limit(limit + 1))
        alerts = [alert_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        return AlertPage(alerts, (alerts[-1].create_time, alerts[-1].alert_id) if more else None)

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(table)) or 0)

    async def rows(self, table: Table, order_by: Iterable[str]) -> Sequence[Row[Any]]:
        """Every row of ``table`` in a stable order: for checks and tests."""
        query = select(table).order_by(*(table.c[name] for name in order_by))
        return await self._all(query)


class AlertPage(NamedTuple):
    """One page of ``Store.list_alerts``."""

    alerts: list[Alert]
    next_before: tuple[int, str] | None
    """``(create_time, alert_id)`` of the page's last alert when more follow
    (pass it as ``before`` for the next page; the page token), else None."""


def _alert_row(alert: Alert) -> dict[str, Any]:
    row: dict[str, Any] = {
        "kind": int(alert.kind),
        "severity": int(alert.severity),
        "account_id": alert.account,
        "symbol": alert.symbol,
        "description": alert.description,
        "order_ids": json.dumps(list(alert.order_ids), separators=(",", ":")),
        "trade_ids": json.dumps(list(alert.trade_ids), separators=(",", ":")),
        "details": json.dumps(dict(alert.details), separators=(",", ":"), sort_keys=True),
        "start_time": alert.start_time,
        "end_time": alert.end_time,
        "create_time": alert.create_time,
        "creator_user_id": alert.creator_user_id,
    }
    canonical = json.dumps(row, separators=(",", ":"), sort_keys=True).encode()
    row["fingerprint"] = hashlib.sha256(canonical).hexdigest()
    return row


def alert_from_row(row: Row[Any]) -> Alert:
    found: dict[str, str] = json.loads(row.details)
    return Alert(
        kind=AlertKind(row.kind),
        severity=AlertSeverity(row.severity),
        account=row.account_id,
        symbol=row.symbol,
        description=row.description,
        order_ids=tuple(json.loads(row.order_ids)),
        trade_ids=tuple(json.loads(row.trade_ids)),
        start_time=row.start_time,
        end_time=row.end_time,
        details=tuple(sorted(found.items())),
        create_time=row.create_time,
        creator_user_id=row.creator_user_id,
        alert_id=str(row.alert_id),
        status=AlertStatus(row.status),
        reviewer_user_id=row.reviewer_user_id,
        review_time=row.review_time,
        review_note=row.review_note,
        review_count=row.review_count,
    )


async def wait_for(url: str, seconds: float) -> Store:
    """``open_store``, retrying while the database is still starting."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await open_store(url)
        except (OSError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
