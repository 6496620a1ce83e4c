"""Throwaway PostgreSQL and Redis servers for the test session.

Real servers, started from the Debian packages' binaries (``.ci/run``
installs them), on free ports, with their data in temporary directories,
stopped at the end. PostgreSQL refuses to run as root, so under root its
programs run as the ``postgres`` system user. A missing binary fails the
tests that need it with the command that fixes it; it never skips them.

A session that dies without its teardown (``timeout`` sends SIGTERM, the
OOM killer SIGKILL) would leave the servers running: ``pg_ctl`` detaches
the postmaster. Each server therefore has a watchdog process that waits on
a pipe from the session and, if the pipe closes without a goodbye, stops
the server and removes its directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest

INSTALL_HINT = "install them with `apt-get install postgresql redis-server` (or run .ci/run)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _postgres_bin() -> Path:
    """``pg_config --bindir``, else the newest Debian cluster version, else PATH.

    Only a directory with the server programs counts: ``pg_config`` (libpq-dev)
    and the client packages have ``bin`` directories without them.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir:
            candidates.append(Path(bindir))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda path: _version(path.parent.name), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if all((candidate / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return candidate
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {INSTALL_HINT}")


_WATCHDOG = """
import json, shutil, subprocess, sys
plan = json.loads(sys.stdin.readline())
if sys.stdin.read() != "exit\\n":  # EOF without a goodbye: the session died
    for command in plan["commands"]:
        subprocess.run(command, capture_output=True, timeout=60, check=False)
    shutil.rmtree(plan["remove"], ignore_errors=True)
"""


class _Watchdog:
    """Runs ``commands`` and removes ``remove`` if this process dies first."""

    def __init__(self, commands: Sequence[Sequence[str]], remove: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # out of reach of ^C and `timeout`'s process group
        )
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"commands": commands, "remove": str(remove)}))
        self._process.stdin.write("\n")
        self._process.stdin.flush()

    def dismiss(self) -> None:
        """The session cleaned up itself; the watchdog exits doing nothing."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(OSError):
                self._process.stdin.write("exit\n")
                self._process.stdin.close()
        self._process.wait(30)


class PostgresServer:
    """One PostgreSQL cluster; ``stop`` and ``start`` keep its port and data."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="stx-postgres-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root, ignore_errors=True)
                pytest.fail(
                    "PostgreSQL refuses to run as root and there is no `postgres` system user "
                    f"to run it as: {INSTALL_HINT}"
                )
            shutil.chown(self.root, "postgres", "postgres")
        stop = ["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        self._watchdog = _Watchdog([self._command(*stop)], self.root)
        try:
            self._run("initdb", "-D", str(self.data), "-U", "stx", "--auth=trust", "-E", "UTF8",
                      "--no-sync")  # fmt: skip
            self.start()
            asyncio.run(self._create("stx"))
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"postgresql://stx@127.0.0.1:{self.port}/stx"

    def _command(self, program: str, *arguments: str) -> list[str]:
        command = [str(self.bin / program), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, program: str, *arguments: str) -> None:
        result = subprocess.run(
            self._command(program, *arguments),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,  # the postgres user may not be able to enter ours
        )
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
        self._watchdog.dismiss()


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
        self._watchdog = _Watchdog([["kill", "-KILL", str(self.process.pid)]], self.root)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self._log()
                self.close()
                raise RuntimeError(f"redis-server did not start: {log}")
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
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
        self._watchdog.dismiss()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL cluster; ``stop()`` and ``start()`` keep port and data."""
    server = PostgresServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql://stx@127.0.0.1:PORT/stx``: one database shared by the session."""
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


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:PORT/0``, shared by the session (``fresh_redis_url`` empties it)."""
    return redis_server.url


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
