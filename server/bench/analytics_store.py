"""The measurement behind docs/decisions/0007: where the analytics process
keeps its facts.

``python -m server.bench.analytics_store [ROWS]`` writes ROWS synthetic
order events (20 symbols, 200 accounts, two days) in batches of 5,000, as
the analytics consumer does, three ways, and times a trade-report-like query
for one account and day on each:

- a DuckDB table, each batch one Arrow table inserted in a transaction with
  the position;
- the same table filled row by row (``executemany``; on 2,000 rows only);
- Parquet files partitioned by day and symbol, each batch appended as new
  files, queried with ``read_parquet`` over the whole tree.

``python -m server.bench.analytics_store --replay COMMANDS`` measures the
consumer itself instead: a journal of COMMANDS simulated commands (the
engine benchmark's order flow) rebuilt into a store, commands and facts a
second.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

BATCH = 5_000
DAY_NANOS = 86_400 * 10**9
START = 1_796_083_200 * 10**9
SCHEMA = (
    "CREATE TABLE order_events (sequence BIGINT, transact_time BIGINT, day BIGINT, "
    "account_id VARCHAR, symbol VARCHAR, order_id BIGINT, exec_type INTEGER, side INTEGER, "
    "price BIGINT, quantity BIGINT, last_price BIGINT, last_quantity BIGINT, user_id VARCHAR)"
)
QUERY = (
    "SELECT symbol, side, sum(last_quantity), sum(last_quantity * last_price) FROM {source} "
    "WHERE account_id = 'ACC7' AND day = {day} AND exec_type IN (2, 3) "
    "GROUP BY ALL ORDER BY ALL"
)


def synthetic(rows: int) -> dict[str, list[Any]]:
    chance = random.Random(7)
    columns: dict[str, list[Any]] = {name: [] for name in (
        "sequence", "transact_time", "day", "account_id", "symbol", "order_id", "exec_type",
        "side", "price", "quantity", "last_price", "last_quantity", "user_id",
    )}  # fmt: skip
    for index in range(rows):
        moment = START + index * 2 * DAY_NANOS // rows
        for name, value in (
            ("sequence", index + 1), ("transact_time", moment), ("day", moment // DAY_NANOS),
            ("account_id", f"ACC{chance.randrange(200)}"), ("symbol", f"S{chance.randrange(20)}"),
            ("order_id", index // 3), ("exec_type", chance.choice((1, 2, 3, 4))),
            ("side", chance.choice((1, 2))), ("price", 1_900_000 + chance.randint(-1000, 1000)),
            ("quantity", 100), ("last_price", 1_900_000),
            ("last_quantity", chance.choice((0, 100))), ("user_id", "u1"),
        ):  # fmt: skip
            columns[name].append(value)
    return columns


def _batches(columns: dict[str, list[Any]]) -> list[Any]:
    rows = len(columns["sequence"])
    return [
        pa.table({name: values[start : start + BATCH] for name, values in columns.items()})
        for start in range(0, rows, BATCH)
    ]


def _query_ms(connection: duckdb.DuckDBPyConnection, source: str) -> float:
    connection.execute(QUERY.format(source=source, day=START // DAY_NANOS)).fetchall()  # warm
    began = time.perf_counter()
    connection.execute(QUERY.format(source=source, day=START // DAY_NANOS)).fetchall()
    return (time.perf_counter() - began) * 1000


def native(columns: dict[str, list[Any]], where: Path) -> None:
    connection = duckdb.connect(str(where / "native.duckdb"))
    connection.execute(SCHEMA)
    connection.execute("CREATE TABLE position (last_sequence BIGINT)")
    connection.execute("INSERT INTO position VALUES (0)")
    rows = len(columns["sequence"])
    began = time.perf_counter()
    for number, batch in enumerate(_batches(columns)):
        connection.execute("BEGIN")
        connection.register("incoming", batch)
        connection.execute("INSERT INTO order_events SELECT * FROM incoming")
        connection.execute("UPDATE position SET last_sequence = ?", [(number + 1) * BATCH])
        connection.execute("COMMIT")
        connection.unregister("incoming")
    took = time.perf_counter() - began
    print(f"duckdb table, Arrow batches: {rows / took:,.0f} rows/s (Arrow tables included)")
    print(f"  report query: {_query_ms(connection, 'order_events'):.1f} ms")
    connection.close()


def row_by_row(columns: dict[str, list[Any]], where: Path, rows: int = 2_000) -> None:
    connection = duckdb.connect(str(where / "rows.duckdb"))
    connection.execute(SCHEMA)
    values = list(zip(*(column[:rows] for column in columns.values()), strict=True))
    began = time.perf_counter()
    connection.executemany(f"INSERT INTO order_events VALUES ({', '.join('?' * 13)})", values)
    print(f"duckdb table, executemany: {rows / (time.perf_counter() - began):,.0f} rows/s")
    connection.close()


def parquet(columns: dict[str, list[Any]], where: Path) -> None:
    connection = duckdb.connect()
    out = where / "parquet"
    rows = len(columns["sequence"])
    batches = _batches(columns)
    began = time.perf_counter()
    for number, batch in enumerate(batches):
        connection.register("incoming", batch)
        connection.execute(
            f"COPY incoming TO '{out}' (FORMAT parquet, PARTITION_BY (day, symbol), APPEND, "
            f"FILENAME_PATTERN 'b{number}_{{uuid}}')"
        )
        connection.unregister("incoming")
    took = time.perf_counter() - began
    files = sum(1 for _ in out.rglob("*.parquet"))
    print(f"parquet by day and symbol, a file set per batch: {rows / took:,.0f} rows/s, "
          f"{files} files")  # fmt: skip
    source = f"read_parquet('{out}/**/*.parquet', hive_partitioning = true)"
    print(f"  report query: {_query_ms(connection, source):.1f} ms")


def replay(commands: int) -> None:
    from server.bench.workload import OrderFlow, instruments  # noqa: PLC0415
    from server.consumers.analytics.follower import rebuild  # noqa: PLC0415
    from server.consumers.analytics.store import AnalyticsStore  # noqa: PLC0415
    from server.core.exchange import ExchangeCore  # noqa: PLC0415
    from server.journal import Durability  # noqa: PLC0415

    async def journal(directory: Path) -> None:
        core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE)
        flow = OrderFlow(core.engine, 1)
        for index in range(commands):
            command = flow.next_command()._replace(timestamp=core.sequencer.now())
            flow.observe(core.sequencer.submit(command).events)
            if index % 500 == 499:
                await core.sequencer.durable()
        await core.sequencer.durable()
        await core.close()

    where = Path(tempfile.mkdtemp())
    try:
        asyncio.run(journal(where / "data"))
        store = AnalyticsStore.open(where / "analytics.duckdb")
        began = time.perf_counter()
        last = rebuild(store, where / "data")
        took = time.perf_counter() - began
        reader = store.reader()
        facts = 0
        for table in ("order_events", "trades"):
            counted = reader.execute(f"SELECT count(*) FROM {table}").fetchone()
            facts += int(counted[0]) if counted is not None else 0
        store.close()
        print(f"{last:,} commands, {facts:,} facts rebuilt in {took:.2f} s: "
              f"{last / took:,.0f} commands/s, {facts / took:,.0f} facts/s")  # fmt: skip
    finally:
        shutil.rmtree(where)


def main() -> None:
    if sys.argv[1:2] == ["--replay"]:
        replay(int(sys.argv[2]) if len(sys.argv) > 2 else 50_000)
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    columns = synthetic(rows)
    where = Path(tempfile.mkdtemp())
    try:
        native(columns, where)
        row_by_row(columns, where)
        parquet(columns, where)
    finally:
        shutil.rmtree(where)


if __name__ == "__main__":
    main()
