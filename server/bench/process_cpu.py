"""CPU time of a process and all its descendants, from Linux's /proc.

A benchmark reads it before and after a run: the difference is what the
exchange spent, however many processes it is made of. Live descendants are
found through ``/proc/<pid>/task/<tid>/children``; a child that ended and
was waited for is in its parent's ``cutime``/``cstime``, so a process that
exits during the run still counts once (the kernel moves its time into the
parent's share when the parent reaps it).
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return text.rpartition(")")[2].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid``, its reaped children and every live
    descendant; None where /proc does not show ``pid``."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After the name: utime, stime, cutime, cstime are fields 14-17 of stat(5).
    ticks = sum(int(value) for value in fields[11:15])
    total = ticks / os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        total += tree_cpu_seconds(child) or 0.0
    return total
