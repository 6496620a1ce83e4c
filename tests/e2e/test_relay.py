"""The committed log between hosts: ``stx serve`` with a relay, trading from
the simulator, the relay killed with SIGKILL mid-flow, and a projector and
an analytics process on another data directory (no journal there) fed only
from the log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.store import STORE_FILE, AnalyticsStore
from server.processes.position import ANALYTICS_POSITION_FILE, POSITION_FILE, PositionFile
from server.processes.roles import NICENESS
from server.store import open_store
from tests.e2e.serve import STARTED, STX, free_port, roles_of, start_server
from tests.server.store.journal_check import all_records, check_store_matches_journal

STREAM = "e2e:committed"


def _until(condition: Callable[[], bool], seconds: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def _at(position: PositionFile, sequence: int) -> bool:
    return position.read() == sequence


def _consumer(role: str, remote: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    """``stx serve ROLE --source``, as on a host of its own."""
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith("STX_")
    }  # fmt: skip
    environ["STX_METRICS_PORT"] = "0"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(STX), "serve", role, "--data-dir", str(remote), "--source", url],
            stdout=output, stderr=subprocess.STDOUT, env=environ,
        )  # fmt: skip
    STARTED.append(process)
    return process


@pytest.mark.timeout(300)
def test_a_relay_killed_mid_flow_sends_each_record_once_to_a_store_elsewhere(
    tmp_path: Path, fresh_redis_url: str
) -> None:
    data, remote = tmp_path / "data", tmp_path / "remote"
    url = f"{fresh_redis_url}?stream={STREAM}"
    redis = Redis.from_url(fresh_redis_url)
    port = free_port()
    server = start_server(data, port, simulate=True, tls=False, settings={"STX_RELAY_URL": url})
    roles = roles_of(server.pid)
    assert "relay" in roles
    assert os.getpriority(os.PRIO_PROCESS, roles["relay"]) == NICENESS["relay"]
    _until(lambda: redis.xlen(STREAM) > 100, what="the relay publishing")
    os.kill(roles["relay"], signal.SIGKILL)
    killed_at = redis.xlen(STREAM)
    _until(lambda: roles_of(server.pid).get("relay", roles["relay"]) != roles["relay"],
           what="the relay restarted")  # fmt: skip
    # A consumer started late, on a host with no journal, catches up and follows.
    consumers = [
        _consumer(role, remote, url, tmp_path / f"{role}.log")
        for role in ("projector", "analytics")
    ]
    _until(lambda: redis.xlen(STREAM) > killed_at + 100, what="publishing after the restart")
    server.send_signal(signal.SIGINT)
    assert server.wait(90) == 0
    records = all_records(data)
    if redis.xlen(STREAM) < len(records):
        # The core's clock journaled an expiry after the relay had stopped
        # (consumers stop before the core): the next start sends it.
        server = start_server(data, port, tls=False, settings={"STX_RELAY_URL": url})
        _until(lambda: redis.xlen(STREAM) >= len(records), what="the rest published")
        server.send_signal(signal.SIGINT)
        assert server.wait(90) == 0
        records = all_records(data)
    entries: Any = redis.xrange(STREAM)
    published = [(int(entry_id.split(b"-")[0]), fields[b"p"]) for entry_id, fields in entries]
    assert published == records  # every record, once, in order, the journal's own bytes
    for name in (POSITION_FILE, ANALYTICS_POSITION_FILE):
        position = PositionFile(remote, name)
        _until(partial(_at, position, len(records)), what=f"{name} caught up")
    for consumer in consumers:
        consumer.send_signal(signal.SIGINT)
        assert consumer.wait(30) == 0
    assert not list(remote.glob("journal-*"))
    live, rebuilt = AnalyticsStore.open(remote / STORE_FILE), AnalyticsStore.open(None)
    assert rebuild(rebuilt, data) == live.position() == len(records)
    for table in ("order_events", "trades"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert live.reader().execute(query).fetchall() == rebuilt.reader().execute(query).fetchall()
    live.close()
    rebuilt.close()

    async def check() -> None:
        store = await open_store(f"sqlite:///{remote / 'stx.db'}")
        try:
            await check_store_matches_journal(store, data)
        finally:
            await store.close()

    asyncio.run(check())
    redis.close()
