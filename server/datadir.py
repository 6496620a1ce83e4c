"""The data directory: private to the server's user, used by one process at a time.

It holds the journal and snapshots (every order ever placed), the SQLite
store (users, e-mail addresses) and the token signing keys: nobody else on
the machine has any business reading them. ``stx serve`` sets its umask to
077, so whatever it or a library creates (SQLite's ``-wal`` and ``-shm``
files included) is 0600 and every folder 0700; the journal code also passes
0600 explicitly, so files are private even in a process with another umask
(the tests). ``prepare_data_dir`` creates the directory 0700 and tightens an
existing one, and the files in it, that others can read.

A directory the server does not own (a volume mounted by an orchestrator,
a folder an administrator shares) cannot be tightened: that is logged and
the server starts anyway, its own files still 0600.

One server at a time: two would append to the same journal and each would
cut the other's records as torn tails. ``stx serve`` holds an advisory lock
(``flock``) on ``stx.lock`` for as long as it runs; the kernel drops it when
the process ends, however it ends, so a crash leaves no stale lock. ``stx
journal repair`` takes the same lock, so it cannot rewrite a journal being
written.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from pathlib import Path

LOCK_NAME = "stx.lock"
PRIVATE_UMASK = 0o077
_log = logging.getLogger(__name__)


class DataDirInUseError(RuntimeError):
    """Another process holds the data directory's lock."""


def prepare_data_dir(directory: Path) -> None:
    """Create ``directory`` 0700, or make an existing one and its files private."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        try:
            directory.chmod(0o700)
        except PermissionError:
            _log.warning(
                "data directory %s is %04o and not ours to change: its files are still 0600",
                directory, mode,
            )  # fmt: skip
        else:
            _log.warning("data directory %s was %04o; now 0700", directory, mode)
    loosened = []
    for entry in os.scandir(directory):
        if entry.is_file(follow_symlinks=False) and entry.stat().st_mode & 0o077:
            with contextlib.suppress(PermissionError):
                os.chmod(entry.path, 0o600)
                loosened.append(entry.name)
    if loosened:
        names = ", ".join(sorted(loosened)[:5]) + (" ..." if len(loosened) > 5 else "")
        _log.warning("made %d files in %s private (0600): %s", len(loosened), directory, names)


def lock_data_dir(directory: Path) -> int:
    """Take the directory's lock; the returned descriptor holds it until it is
    closed (or the process ends). ``DataDirInUseError`` if another has it."""
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirInUseError(
            f"another server is already running on {directory} (process {holder} holds {path})"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def unlock_data_dir(fd: int) -> None:
    os.close(fd)
