"""The throwaway PostgreSQL and Redis servers of ``tests/throwaway.py`` work."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.throwaway import PostgresServer


async def _fetchval(url: str, query: str) -> object:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


def test_postgres_url_is_a_live_empty_database(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    assert (parts.scheme, parts.hostname, parts.username, parts.path) == (
        "postgresql",
        "127.0.0.1",
        "stx",
        "/stx",
    )
    assert asyncio.run(_fetchval(postgres_url, "select 1")) == 1
    assert asyncio.run(_fetchval(postgres_url, "select current_user")) == "stx"


def test_fresh_postgres_url_is_a_new_empty_database(
    postgres_url: str, fresh_postgres_url: str
) -> None:
    assert urlsplit(fresh_postgres_url).port == urlsplit(postgres_url).port
    assert urlsplit(fresh_postgres_url).path != urlsplit(postgres_url).path
    tables = "select count(*) from information_schema.tables where table_schema = 'public'"
    assert asyncio.run(_fetchval(fresh_postgres_url, tables)) == 0


def test_postgres_stops_and_starts_again_with_its_data(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    async def write() -> None:
        connection = await asyncpg.connect(fresh_postgres_url, timeout=10)
        try:
            await connection.execute("create table kept (value int); insert into kept values (7)")
        finally:
            await connection.close()

    asyncio.run(write())
    port = postgres_server.port
    postgres_server.stop()
    try:
        with pytest.raises(ConnectionRefusedError):
            asyncio.run(_fetchval(fresh_postgres_url, "select 1"))
    finally:
        postgres_server.start()
    assert postgres_server.port == port
    assert asyncio.run(_fetchval(fresh_postgres_url, "select value from kept")) == 7


def test_redis_answers_ping(redis_url: str) -> None:
    async def ping() -> bool:
        client = aioredis.from_url(redis_url)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()

    assert urlsplit(redis_url).hostname == "127.0.0.1"
    assert asyncio.run(ping())


@pytest.mark.parametrize("run", [1, 2])
def test_fresh_redis_url_is_empty(fresh_redis_url: str, run: int) -> None:
    async def use() -> int:
        client = aioredis.from_url(fresh_redis_url)
        try:
            size = await client.dbsize()
            await client.set("left-behind", run)  # the next test must not see it
            return int(size)
        finally:
            await client.aclose()

    assert asyncio.run(use()) == 0
