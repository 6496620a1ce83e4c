"""Throwaway PostgreSQL and Redis servers for the test session.

Real servers, started from the Debian packages' binaries (``.ci/run``
installs them), on free ports, with their data in temporary directories,
stopped at the end. PostgreSQL refuses to run as root, so under root its
programs run as the ``postgres`` system user. A missing binary fails the
tests that need it with the command that fixes it; it never skips them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

INSTALL_HINT = "install them with `apt-get install postgresql redis-server` (or run .ci/run)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _postgres_bin() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name)
    )
    if candidates and (candidates[-1] / "initdb").exists():
        return candidates[-1]
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    pytest.fail(f"PostgreSQL server binaries not found: {INSTALL_HINT}")


class PostgresServer:
    """One PostgreSQL cluster; ``stop`` and ``start`` keep its port and data."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="stx-postgres-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "stx", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        self.start()
        asyncio.run(self._create("stx"))

    @property
    def url(self) -> str:
        return f"postgresql://stx@127.0.0.1:{self.port}/stx"

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bin / program), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.root / "postgres.log"
            detail = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr}{result.stdout}\n{detail}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="stx", database="postgres"
        )

    async def _create(self, name: str) -> None:
        connection = await self._connect()
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def _drop(self, name: str) -> None:
        connection = await self._connect()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    def database(self, name: str) -> str:
        """A new empty database; its URL."""
        asyncio.run(self._create(name))
        return f"postgresql://stx@127.0.0.1:{self.port}/{name}"

    def drop(self, name: str) -> None:
        asyncio.run(self._drop(name))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            pytest.fail(f"redis-server not found: {INSTALL_HINT}")
        self.root = Path(tempfile.mkdtemp(prefix="stx-redis-"))
        self.port = _free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=(self.root / "redis.log").open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self._log()}")
            time.sleep(0.05)

    def _log(self) -> str:
        return (self.root / "redis.log").read_text(errors="replace")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.url


_databases = itertools.count(1)


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database for one test, dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    url = postgres_server.database(name)
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):  # the server may be stopped by the test
            postgres_server.drop(name)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fresh_redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=5) as connection:
        connection.sendall(b"FLUSHALL\r\n")
        assert connection.recv(16).startswith(b"+OK")
    return redis_server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL, once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stx.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url
