"""The analytical store: one DuckDB file in the data directory.

Decision 0007 measured the choices: a DuckDB table takes a batch of facts
in one statement and answers a report for one account and day in tens of
milliseconds, where Parquet files appended per batch (partitioned by day and
symbol) ingested no faster, made thousands of small files and answered the
same report in hundreds. So the live store is DuckDB's own file, and Parquet
partitioned by day and symbol is what ``export_parquet`` writes, the same
schema for any other engine.

Each batch of facts is written in one transaction with the journal sequence
it ends at, so a restart resumes exactly after the last batch written; a
batch at or below that position is skipped (written twice, stored once).
DuckDB lets one process hold the file; that is the analytics process, which
answers the reports itself (``server/processes/analytics.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from server.consumers.analytics.facts import (
    EVENT_ROW_COLUMNS,
    LATENCY_COLUMNS,
    LATENCY_NAMES,
    ORDER_EVENT_COLUMNS,
    QUOTE_COLUMNS,
    QUOTE_NAMES,
    TRADE_COLUMNS,
    TRADE_NAMES,
    Facts,
)

_log = logging.getLogger(__name__)
STORE_FILE = "analytics.duckdb"
SCHEMA_VERSION = 3
"""Raised when the tables change (2: the ``quotes`` table; 3: ``latencies``). A store of
another version is derived data of an older layout: the serving processes
set it aside and rebuild from the journal (``open_current``)."""
_ARROW = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "VARCHAR": pa.string(), "DATE": pa.date32()}
DUCKDB_CONFIG: dict[str, str | int] = {"threads": 2, "memory_limit": "1GB"}
"""DuckDB takes every core and 80% of the memory by default; beside the
exchange's own processes it gets two threads and a gigabyte (reports of one
account and day need far less; larger sorts spill to disk)."""
_EXPORT_ORDER = {
    "order_events": ("sequence, event_index", "day, symbol"),
    "trades": ("sequence, trade_id", "day, symbol"),
    "quotes": ("sequence", "day, symbol"),
    "latencies": ("sequence", "day"),
}
"""Each fact table's rows in one total order (a quote and a latency per
command at most), and its partitions (a latency's command need not have a
symbol)."""
Tables = tuple[pa.Table, pa.Table, pa.Table, pa.Table]
"""A batch's facts as the store writes them: order events, trades, quotes, latencies."""
_FILLS = (2, 3)
"""EXEC_TYPE_PARTIAL_FILL and EXEC_TYPE_FILL."""


class StoreVersionError(RuntimeError):
    """The store file holds another schema version: rebuild it from the journal."""

    def __init__(self, message: str, version: int) -> None:
        super().__init__(message)
        self.version = version


def _create(spec: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name} {kind} NOT NULL" for name, kind in spec)


class AnalyticsStore:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection

    @classmethod
    def open(cls, path: Path | None) -> AnalyticsStore:
        """The store at ``path`` (created if new); None keeps it in memory."""
        connection = duckdb.connect(
            ":memory:" if path is None else str(path), config=dict(DUCKDB_CONFIG)
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS position "
            "(name VARCHAR PRIMARY KEY, last_sequence BIGINT NOT NULL, version INTEGER NOT NULL)"
        )
        row = connection.execute("SELECT version FROM position WHERE name = 'journal'").fetchone()
        if row is None:
            connection.execute("BEGIN")
            connection.execute(f"CREATE TABLE order_events ({_create(ORDER_EVENT_COLUMNS)})")
            connection.execute(f"CREATE TABLE trades ({_create(TRADE_COLUMNS)})")
            connection.execute(f"CREATE TABLE quotes ({_create(QUOTE_COLUMNS)})")
            connection.execute(f"CREATE TABLE latencies ({_create(LATENCY_COLUMNS)})")
            connection.execute(
                f"CREATE VIEW executions AS SELECT * FROM order_events WHERE exec_type IN {_FILLS}"
            )
            connection.execute("INSERT INTO position VALUES ('journal', 0, ?)", [SCHEMA_VERSION])
            connection.execute("COMMIT")
        elif row[0] != SCHEMA_VERSION:
            connection.close()
            raise StoreVersionError(
                f"{path} holds analytics schema version {row[0]}, this server writes "
                f"{SCHEMA_VERSION}: remove it and the analytics process rebuilds it from the "
                "journal",
                int(row[0]),
            )
        return cls(connection)

    @classmethod
    def open_current(cls, path: Path) -> AnalyticsStore:
        """The store at ``path``; one of another schema version is renamed
        ``<name>.v<version>`` beside it (kept for whoever wants its facts,
        replaced by the next such move) and a new one is started, which the
        follower fills from the journal."""
        try:
            return cls.open(path)
        except StoreVersionError as old:
            aside = path.with_name(f"{path.name}.v{old.version}")
            _log.warning("%s; moved it to %s and rebuilding from the journal", old, aside)
            path.replace(aside)
            path.with_name(f"{path.name}.wal").unlink(missing_ok=True)
            return cls.open(path)

    def position(self) -> int:
        """The last journal sequence whose facts the store holds."""
        row = self._connection.execute(
            "SELECT last_sequence FROM position WHERE name = 'journal'"
        ).fetchone()
        assert row is not None  # written when the store was created
        return int(row[0])

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The writer's connection (the owner's thread only)."""
        return self._connection

    def write(self, facts: Facts) -> bool:
        """Store ``facts`` and their position in one transaction; False (and
        nothing written) if the store already holds that position."""
        if facts.last_sequence <= self.position():
            return False
        return self.insert(self.tables(facts), facts.last_sequence)

    @staticmethod
    def tables(facts: Facts) -> Tables:
        """The facts as Arrow tables: order events, trades, quotes and
        latencies. Each list of row tuples becomes a struct array in one
        conversion (Arrow's C++ reads the tuples by position), then a table of
        its fields in the stored order: 3.3-4.3 µs a 30-column row against
        5.7-8.8 for a Python transpose and one array per column."""
        return (
            _arrow(facts.events, _EVENT_ROW, _EVENT_ORDER),
            _arrow(facts.trades, _TRADE_ROW, None),
            _arrow(facts.quotes, _QUOTE_ROW, None),
            _arrow(facts.latencies, _LATENCY_ROW, None),
        )

    def insert(self, tables: Tables, last_sequence: int) -> bool:
        """``tables`` (as ``tables`` makes them) and the position
        ``last_sequence`` in one transaction; False (and nothing written) if
        the store already holds that position."""
        connection = self._connection
        if last_sequence <= self.position():
            return False
        events, trades, quotes, latencies = tables
        connection.execute("BEGIN")
        try:
            connection.register("incoming_events", events)
            connection.register("incoming_trades", trades)
            connection.register("incoming_quotes", quotes)
            connection.register("incoming_latencies", latencies)
            connection.execute("INSERT INTO order_events SELECT * FROM incoming_events")
            connection.execute("INSERT INTO trades SELECT * FROM incoming_trades")
            connection.execute("INSERT INTO quotes SELECT * FROM incoming_quotes")
            connection.execute("INSERT INTO latencies SELECT * FROM incoming_latencies")
            connection.execute(
                "UPDATE position SET last_sequence = ? WHERE name = 'journal'", [last_sequence]
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.unregister("incoming_events")
            connection.unregister("incoming_trades")
            connection.unregister("incoming_quotes")
            connection.unregister("incoming_latencies")
        return True

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A connection for one thread's reads (a DuckDB connection is not
        shared between threads; its cursors see committed data)."""
        return self._connection.cursor()

    def export_parquet(self, directory: Path) -> None:
        """The fact tables as Parquet under ``directory/<table>/``,
        partitioned by day and symbol (Hive style: ``day=.../symbol=...``);
        ``latencies``, whose commands need not have a symbol, by day."""
        directory.mkdir(parents=True, exist_ok=True)
        connection = self._connection
        # Byte for byte the same files from the same facts: rows in one total
        # order, written by one thread (with two, once a table outgrew a row
        # group a partition's rows came in the order the threads delivered
        # them, and one command's rows tie on sequence).
        connection.execute("SET threads TO 1")
        try:
            for table, (order, partitions) in _EXPORT_ORDER.items():
                target = str(directory / table).replace("'", "''")
                connection.execute(
                    f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{target}' "
                    f"(FORMAT parquet, PARTITION_BY ({partitions}), OVERWRITE_OR_IGNORE)"
                )
        finally:
            connection.execute(f"SET threads TO {DUCKDB_CONFIG['threads']}")

    def close(self) -> None:
        self._connection.close()


def _struct(names: tuple[str, ...], spec: tuple[tuple[str, str], ...]) -> pa.StructType:
    kinds = dict(spec)
    return pa.struct([(name, _ARROW[kinds[name]]) for name in names])


_EVENT_ROW = _struct(EVENT_ROW_COLUMNS, ORDER_EVENT_COLUMNS)
_EVENT_ORDER = [name for name, _ in ORDER_EVENT_COLUMNS]
_TRADE_ROW = _struct(TRADE_NAMES, TRADE_COLUMNS)
_QUOTE_ROW = _struct(QUOTE_NAMES, QUOTE_COLUMNS)
_LATENCY_ROW = _struct(LATENCY_NAMES, LATENCY_COLUMNS)


def _arrow(rows: list[tuple[Any, ...]], row: pa.StructType, order: list[str] | None) -> pa.Table:
    """``rows`` (tuples of ``row``'s fields) as a table, its columns in ``order``."""
    table = pa.Table.from_struct_array(pa.array(rows, type=row))
    return table if order is None else table.select(order)
