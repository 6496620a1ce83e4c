"""The store's schema, migrations, atomic batches and queries, on both backends."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from server.store import open_store, schema
from server.store.batch import ProjectionBatch


def _audit(sequence: int) -> dict[str, object]:
    return {
        "sequence": sequence,
        "time": sequence * 1_000,
        "account_id": "A",
        "action": "NewOrder",
        "client_order_id": f"c{sequence}",
        "detail": "[]",
        "user_id": "u1",
        "source": "10.0.0.1",
        "gateway": "grpc",
        "previous_hash": "",
        "hash": "",
    }


def _trade(trade_id: int, symbol: str = "X") -> dict[str, object]:
    return {
        "trade_id": trade_id,
        "symbol": symbol,
        "price": 100 + trade_id,
        "quantity": 10,
        "aggressor_side": 1,
        "buy_order_id": 1,
        "sell_order_id": 2,
        "buy_account_id": "A",
        "sell_account_id": "B",
        "channel_sequence": trade_id,
        "sequence": trade_id,
        "trade_time": trade_id,
    }


def test_migrations_create_every_table_and_are_idempotent(store_url: str) -> None:
    async def scenario() -> None:
        store = await open_store(store_url)
        await store.close()
        again = await open_store(store_url)  # already at head: nothing to do
        async with again.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        await again.close()
        assert set(schema.metadata.tables) <= set(tables)
        assert "alembic_version" in tables

    asyncio.run(scenario())


def test_a_batch_and_its_position_commit_together_or_not_at_all(store_url: str) -> None:
    async def scenario() -> None:
        store = await open_store(store_url)
        try:
            assert await store.position() == 0
            first = ProjectionBatch(last_sequence=2, audit=[_audit(1), _audit(2)])
            first.trades.append(_trade(1))
            await store.write(first)
            assert await store.position() == 2
            # A second batch repeating a trade id fails as a whole: no audit row, no position.
            clash = ProjectionBatch(last_sequence=3, audit=[_audit(3)], trades=[_trade(1)])
            with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
                await store.write(clash)
            assert await store.position() == 2
            assert await store.count(schema.audit_log) == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_upserts_keep_the_latest_state_of_an_order(store_url: str) -> None:
    async def scenario() -> None:
        store = await open_store(store_url)
        try:
            row: dict[str, object] = {column.name: 0 for column in schema.orders.columns}
            row.update(
                order_id=7, client_order_id="c", account_id="A", symbol="X",
                post_only=False, status=1, leaves_quantity=100,
            )  # fmt: skip
            await store.write(ProjectionBatch(last_sequence=1, orders={7: row}))
            await store.write(
                ProjectionBatch(last_sequence=2, orders={7: {**row, "status": 2, "sequence": 2}})
            )
            stored = await store.order(7)
            assert stored is not None
            assert (stored.status, stored.sequence) == (2, 2)
            assert await store.count(schema.orders) == 1
        finally:
            await store.close()

    asyncio.run(scenario())


def test_trade_pages_run_newest_first_per_symbol(store_url: str) -> None:
    async def scenario() -> None:
        store = await open_store(store_url)
        try:
            trades = [_trade(n, "X" if n % 2 else "Y") for n in range(1, 11)]
            await store.write(ProjectionBatch(last_sequence=10, trades=trades))
            page = await store.trades_page(symbol="X", before=0, limit=3)
            assert [row.trade_id for row in page] == [9, 7, 5]
            rest = await store.trades_page(symbol="X", before=5, limit=3)
            assert [row.trade_id for row in rest] == [3, 1]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_unsupported_urls_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        asyncio.run(open_store("mysql://nobody@localhost/stx"))


def test_the_migrations_build_exactly_the_declared_schema(store_url: str) -> None:
    async def scenario() -> list[object]:
        store = await open_store(store_url)
        try:
            async with store.engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), schema.metadata)
                )
        finally:
            await store.close()

    assert asyncio.run(scenario()) == []
