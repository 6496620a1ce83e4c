"""What a role's process does when the supervisor (``stx serve``) started it.

The supervisor holds the data directory's lock and hands each child the
descriptor (``STX_DATA_LOCK_FD``): while any child of a server lives, the lock
stays held, so a second ``stx serve`` on the same directory is refused even
if the supervisor itself was killed. Each child also asks the kernel to kill
it when the supervisor dies (``PR_SET_PDEATHSIG``): a ``kill -9`` of
``stx serve`` ends the whole server as it ended the single process before
the split, and nothing is left holding ports or the journal.

A child says it is ready (its ports bound, caught up with the core) by
printing ``READY_MARKER`` and its role on a line of its own; the supervisor
waits for that line before starting the roles that depend on it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Mapping

SUPERVISOR_PID = "STX_SUPERVISOR_PID"
LOCK_FD = "STX_DATA_LOCK_FD"
READY_MARKER = "stx-ready"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class OrphanError(RuntimeError):
    """The supervisor that started this process is gone already."""


def ready_line(role: str) -> str:
    return f"{READY_MARKER} {role}"


def supervised(environ: Mapping[str, str] = os.environ) -> bool:
    return SUPERVISOR_PID in environ


def follow_supervisor(environ: Mapping[str, str] = os.environ) -> int | None:
    """Under a supervisor: die with it, and return the inherited lock's
    descriptor (None when run alone)."""
    parent = environ.get(SUPERVISOR_PID)
    if parent is None:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
    # The supervisor may have died before the request took effect.
    if os.getppid() != int(parent):
        raise OrphanError(f"the supervisor (process {parent}) is gone")
    lock = environ.get(LOCK_FD)
    if lock is None:
        return None
    fd = int(lock)
    os.fstat(fd)  # a descriptor that was not inherited is a bug: OSError
    return fd


def announce_ready(role: str) -> None:
    """Tell the supervisor (if any) that ``role`` serves."""
    if supervised():
        sys.stdout.write(ready_line(role) + "\n")
        sys.stdout.flush()
