"""The supervisor of the roles, with real child processes standing in for
them (a short script per role): start order and readiness, a start that
fails in one role, the stop order, and the lock the children share."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from pathlib import Path

import pytest

from server.datadir import lock_data_dir
from server.processes.supervise import START_GROUPS, STOP_GROUPS, ExchangeProcesses

ROLE = """
import os, signal, sys, time
role, record, failing, hanging = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def stopped(*_):
    with open(record, "a") as out:
        out.write(f"stop {role}\\n")
    sys.exit(0)
signal.signal(signal.SIGINT, stopped)
with open(record, "a") as out:
    out.write(f"start {role}\\n")
if role == failing:
    print("CRITICAL stx.serve: 127.0.0.1:1 for feed_port: the port is already in use", flush=True)
    sys.exit(2)
os.fstat(int(os.environ["STX_DATA_LOCK_FD"]))  # the lock's descriptor was handed down
if role != hanging:
    print(f"stx-ready {role}", flush=True)
while True:
    time.sleep(1)
"""


def _processes(
    tmp_path: Path,
    lock: int,
    failing: str = "",
    hanging: str = "",
    fix: bool = True,
    relay: bool = True,
) -> tuple[ExchangeProcesses, Path]:
    script = tmp_path / "role.py"
    script.write_text(ROLE)
    record = tmp_path / "record"
    record.touch()
    processes = ExchangeProcesses(
        [str(record), failing or "none", hanging or "none"],
        lock,
        fix=fix,
        relay=relay,
        command=(sys.executable, str(script)),
    )
    return processes, record


def _events(record: Path, kind: str) -> list[str]:
    return [line.split()[1] for line in record.read_text().splitlines() if line.startswith(kind)]


def _groups_in_order(events: list[str], groups: tuple[tuple[str, ...], ...]) -> None:
    """``events`` go group by group (any order within a group)."""
    at = 0
    for group in groups:
        assert set(events[at : at + len(group)]) == set(group), events
        at += len(group)
    assert at == len(events)


def test_roles_start_group_by_group_and_stop_in_the_reverse_dependency_order(
    tmp_path: Path,
) -> None:
    lock = lock_data_dir(tmp_path)

    async def scenario() -> None:
        processes, record = _processes(tmp_path, lock)
        assert await processes.start() is None
        pids = {role: child.pid for role, child in processes.children.items()}
        assert all(pids.values())
        _groups_in_order(_events(record, "start"), START_GROUPS)
        await processes.stop()
        _groups_in_order(_events(record, "stop"), STOP_GROUPS)

    asyncio.run(scenario())
    os.close(lock)


def test_the_fix_gateway_runs_only_with_sessions_configured(tmp_path: Path) -> None:
    lock = lock_data_dir(tmp_path)

    async def scenario() -> None:
        processes, record = _processes(tmp_path, lock, fix=False)
        assert await processes.start() is None
        assert "fix" not in processes.children
        assert "fix" not in _events(record, "start")
        await processes.stop()

    asyncio.run(scenario())
    os.close(lock)


def test_the_relay_runs_only_with_a_log_configured(tmp_path: Path) -> None:
    lock = lock_data_dir(tmp_path)

    async def scenario() -> None:
        processes, record = _processes(tmp_path, lock, relay=False)
        assert await processes.start() is None
        assert "relay" not in processes.children
        assert "relay" not in _events(record, "start")
        assert "fix" in processes.children
        await processes.stop()

    asyncio.run(scenario())
    os.close(lock)


def test_a_role_that_cannot_start_ends_the_start_with_its_code_and_stops_the_others(
    tmp_path: Path,
) -> None:
    lock = lock_data_dir(tmp_path)

    async def scenario() -> None:
        processes, record = _processes(tmp_path, lock, failing="feed")
        assert await processes.start() == 2
        assert processes.children["feed"].starts == 1  # not restarted: it never started
        assert "rest" not in processes.children  # the next group never started
        started = set(_events(record, "start")) - {"feed"}
        assert set(_events(record, "stop")) == started  # every started role was stopped
        assert all(child.pid is None for child in processes.children.values())

    asyncio.run(scenario())
    os.close(lock)


def test_the_lock_stays_held_while_a_child_lives(tmp_path: Path) -> None:
    """A second server on the directory is refused even if the supervisor died."""
    lock = lock_data_dir(tmp_path)

    async def scenario() -> None:
        processes, _ = _processes(tmp_path, lock)
        assert await processes.start() is None
        os.close(lock)  # as if the supervisor were gone: only the children hold it
        probe = os.open(tmp_path / "stx.lock", os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        await processes.stop()
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # all ended: free again
        os.close(probe)

    asyncio.run(scenario())


def test_a_stop_during_the_start_stops_what_started(tmp_path: Path) -> None:
    """^C while a role is still starting (here the gateway never gets ready)."""
    lock = lock_data_dir(tmp_path)

    async def scenario() -> None:
        processes, record = _processes(tmp_path, lock, hanging="gateway")
        starting = asyncio.ensure_future(processes.start())
        while "start gateway" not in record.read_text():
            await asyncio.sleep(0.02)
        assert not starting.done()
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        await processes.stop()
        assert set(_events(record, "stop")) == {"core", "gateway"}
        assert all(child.pid is None for child in processes.children.values())

    asyncio.run(scenario())
    os.close(lock)
