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
_TICKS = os.sysconf("SC_CLK_TCK")


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


def _name(pid: int) -> str:
    """The process's command up to its first option: ``python3 stx serve``."""
    try:
        argv = (_PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    words: list[str] = []
    for word in argv:
        if not word or word.startswith("-"):
            break
        words.append(Path(word).name if len(words) < 2 else word)
    return " ".join(words) or "?"


def tree_by_process(pid: int) -> dict[int, tuple[str, float]]:
    """Each live process of ``pid``'s tree: its command and its own CPU
    seconds (user + system, with its reaped children's), by process id."""
    fields = _stat_fields(pid)
    if fields is None:
        return {}
    # After the name: utime, stime, cutime, cstime are fields 14-17 of stat(5).
    found = {pid: (_name(pid), sum(int(value) for value in fields[11:15]) / _TICKS)}
    for child in _children(pid):
        found.update(tree_by_process(child))
    return found


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of ``pid``, its reaped children and every live descendant;
    None where /proc does not show ``pid``."""
    processes = tree_by_process(pid)
    return sum(seconds for _, seconds in processes.values()) if processes else None
