"""The committed log on a real Redis: the relay publishes the journal, a
consumer with no journal of its own projects it, each record exactly once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.bench.workload import OrderFlow, instruments
from server.committed.log import LogError, Record, split_url
from server.committed.open import open_log
from server.committed.redis_log import RedisStreamLog
from server.config import ConfigError, Settings
from server.consumers.analytics.follower import AnalyticsFollower, rebuild
from server.consumers.analytics.store import STORE_FILE, AnalyticsStore
from server.consumers.projector import Projector, StoreAheadError
from server.consumers.relay import Relay
from server.consumers.sources import LogPositions, LogSource, LogTail
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.processes.runner import build
from server.store import open_store
from tests.server.store.journal_check import all_records, check_store_matches_journal

STREAM = "test:committed"


def _run(url: str, scenario: Callable[[RedisStreamLog], Awaitable[None]]) -> None:
    async def main() -> None:
        log = open_log(f"{url}?stream={STREAM}")
        assert isinstance(log, RedisStreamLog)
        try:
            await scenario(log)
        finally:
            await log.close()

    asyncio.run(main())


async def _trade(core: ExchangeCore, orders: int, seed: int = 5) -> None:
    flow = OrderFlow(core.engine, seed)
    for _ in range(orders):
        command = flow.next_command()._replace(timestamp=core.sequencer.now())
        flow.observe(core.sequencer.submit(command).events)
    await core.sequencer.durable()


def test_the_url_names_the_stream() -> None:
    assert split_url("redis://h:1/0?stream=a:b") == ("redis://h:1/0", "a:b")
    assert split_url("redis://h:1/2?ssl_cert_reqs=none") == (
        "redis://h:1/2?ssl_cert_reqs=none",
        "stx:committed",
    )


def test_the_log_takes_each_sequence_once_and_refuses_a_gap(fresh_redis_url: str) -> None:
    async def scenario(log: RedisStreamLog) -> None:
        assert await log.last_sequence() == 0
        assert await log.first_sequence() == 0
        assert await log.append([(1, b"one"), (2, b"\x00two")]) == 2
        # A relay that restarts sends its last batch again: only 3 is new.
        assert await log.append([(1, b"one"), (2, b"\x00two"), (3, b"three")]) == 1
        with pytest.raises(LogError, match="record 5-1 does not follow 3-1"):
            await log.append([(5, b"five")])
        assert await log.last_sequence() == 3
        assert await log.read(0, 10) == [(1, b"one"), (2, b"\x00two"), (3, b"three")]
        assert await log.read(1, 1) == [(2, b"\x00two")]
        assert await log.read(3, 10) == []
        assert await log.wait_beyond(3, 0.05) == 3  # nothing new: back after the timeout
        waiting = asyncio.ensure_future(log.wait_beyond(3, 5))
        await asyncio.sleep(0.05)
        await log.append([(4, b"four")])
        assert await asyncio.wait_for(waiting, 2) == 4

    _run(fresh_redis_url, scenario)


def test_a_consumer_refuses_a_missing_or_trimmed_record(fresh_redis_url: str) -> None:
    async def scenario(log: RedisStreamLog) -> None:
        raw = Redis.from_url(fresh_redis_url)
        for sequence in (1, 2, 4):  # written past the relay's checks
            await raw.xadd(STREAM, {"p": b"x"}, id=f"{sequence}-1")
        tail = LogTail(log, 0)
        with pytest.raises(LogError, match="skips from record 2 to 4"):
            await tail.read(10, up_to=10)
        await raw.xtrim(STREAM, minid="2-0", approximate=False)
        with pytest.raises(LogError, match="no record 1: it starts at 2"):
            await LogTail(log, 0).read(10, up_to=10)
        assert await log.first_sequence() == 2
        await raw.aclose()

    _run(fresh_redis_url, scenario)


def test_a_store_elsewhere_fed_only_by_the_log_matches_the_journal(
    fresh_redis_url: str, tmp_path: Path
) -> None:
    """The relay publishes while trading goes on; it stops part way and a new
    one resumes after the log's last record (nothing twice, nothing missing:
    the log is the journal, record for record); a projector started late on
    another data directory catches up from record 1 and keeps following."""

    async def scenario(log: RedisStreamLog) -> None:
        data = tmp_path / "data"
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        await _trade(core, 400)
        told = [250]  # the first relay has heard of 250 committed records when it stops
        first = Relay(log, data, committed=lambda: told[0], batch_records=64)
        await first.start()
        await first.caught_up(250)
        await first.stop()
        assert await log.last_sequence() == 250
        committed = lambda: core.sequencer.durable_sequence  # noqa: E731
        second = Relay(log, data, committed=committed, batch_records=64)
        await second.start()
        assert second.position == 250
        await _trade(core, 300, seed=6)
        second.notify()
        await second.caught_up(core.sequencer.sequence)
        assert second.sent == core.sequencer.sequence - 250
        assert await log.read(0, 100_000) == all_records(data)

        # The consumer's host: its own directory and store, no journal.
        remote = tmp_path / "remote"
        remote.mkdir()
        store = await open_store(f"sqlite:///{remote / 'stx.db'}")
        known = [0]
        positions = LogPositions(open_log(f"{fresh_redis_url}?stream={STREAM}"), known.append)
        await positions.start()
        projector = Projector(
            store, remote, committed=lambda: known[-1], source=LogSource(log), batch_commands=128
        )
        await projector.start()
        await projector.caught_up(core.sequencer.sequence)
        await _trade(core, 200, seed=7)  # live: relayed, then projected
        second.notify()
        await second.caught_up(core.sequencer.sequence)
        await projector.caught_up(core.sequencer.sequence, timeout=10)
        await projector.stop()
        await positions.stop()
        await second.stop()
        assert not list(remote.glob("journal-*"))
        await check_store_matches_journal(store, data)

        # Restarted, it resumes after its store's position: a shadow rebuilt
        # from the log (no snapshots there), nothing applied twice.
        await _trade(core, 100, seed=8)
        third = Relay(log, data, committed=committed)
        await third.start()
        await third.caught_up(core.sequencer.sequence)
        again = Projector(
            store, remote, committed=lambda: core.sequencer.sequence, source=LogSource(log)
        )
        await again.start()
        await again.caught_up(core.sequencer.sequence)
        await again.stop()
        await third.stop()
        await check_store_matches_journal(store, data)
        await store.close()
        await core.close()

    _run(fresh_redis_url, scenario)


def test_a_log_of_another_history_is_refused(fresh_redis_url: str, tmp_path: Path) -> None:
    async def scenario(log: RedisStreamLog) -> None:
        data = tmp_path / "data"
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        await _trade(core, 20)
        end = core.sequencer.sequence
        await log.append([(sequence, b"elsewhere") for sequence in range(1, end + 6)])
        relay = Relay(log, data, committed=lambda: core.sequencer.durable_sequence)
        with pytest.raises(LogError, match=f"up to sequence {end + 5}, but the journal ends at"):
            await relay.start()
        # A store ahead of the log it reads: the log was started afresh.
        store = await open_store(f"sqlite:///{tmp_path / 'stx.db'}")
        local = Projector(store, data, committed=lambda: core.sequencer.durable_sequence)
        await local.start()
        await local.caught_up(end)
        await local.stop()
        empty = open_log(f"{fresh_redis_url}?stream=test:empty")
        remote = Projector(store, tmp_path / "remote", committed=lambda: 0, source=LogSource(empty))
        with pytest.raises(StoreAheadError, match="the committed log ends at 0"):
            await remote.start()
        await empty.close()
        await store.close()
        await core.close()

    _run(fresh_redis_url, scenario)


def test_an_analytics_store_elsewhere_fed_by_the_log_equals_a_rebuild_from_the_journal(
    fresh_redis_url: str, tmp_path: Path
) -> None:
    async def scenario(log: RedisStreamLog) -> None:
        data, remote = tmp_path / "data", tmp_path / "remote"
        remote.mkdir()
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        await _trade(core, 300)
        end = core.sequencer.sequence
        relay = Relay(log, data, committed=lambda: core.sequencer.durable_sequence)
        await relay.start()
        await relay.caught_up(end)
        await relay.stop()
        live = AnalyticsStore.open(remote / STORE_FILE)
        follower = AnalyticsFollower(
            live, remote, committed=lambda: end, source=LogSource(log), batch_commands=64
        )
        await follower.start()
        await follower.caught_up(end)
        await follower.stop()
        rebuilt = AnalyticsStore.open(None)
        assert rebuild(rebuilt, data) == live.position() == end
        for table in ("order_events", "trades"):
            query = f"SELECT * FROM {table} ORDER BY ALL"
            assert live.reader().execute(query).fetchall() == (
                rebuilt.reader().execute(query).fetchall()
            )
        live.close()
        rebuilt.close()
        await core.close()

    _run(fresh_redis_url, scenario)


def test_the_relay_role_needs_a_log() -> None:
    with pytest.raises(ConfigError, match=r"set \[relay\] url or STX_RELAY_URL"):
        build("relay", Settings())


def test_a_log_out_of_reach_does_not_stop_the_relay_from_starting(tmp_path: Path) -> None:
    async def scenario() -> None:
        data = tmp_path / "data"
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        await _trade(core, 10)
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = open_log(f"redis://127.0.0.1:{port}/0")
        relay = Relay(log, data, committed=lambda: core.sequencer.durable_sequence)
        await relay.start()  # the exchange starts; the relay keeps asking
        assert not relay.resumed
        assert relay.following
        with pytest.raises(TimeoutError, match="relay at 0"):
            await relay.caught_up(1, timeout=0.3)
        assert relay.failures >= 1
        await relay.stop()
        await log.close()
        await core.close()

    asyncio.run(scenario())


class _LogAwayThenElsewhere:
    """A log that does not answer at first, then turns out to hold another
    history (longer than the journal)."""

    def __init__(self) -> None:
        self.asked = 0

    async def last_sequence(self) -> int:
        self.asked += 1
        if self.asked == 1:
            raise ConnectionError("not yet")
        return 10**6

    async def append(self, records: Sequence[Record]) -> int:
        raise AssertionError("nothing may be appended to another history")

    async def first_sequence(self) -> int:
        return 1

    async def read(self, after: int, limit: int) -> list[Record]:
        return []

    async def wait_beyond(self, sequence: int, timeout: float) -> int:
        return 10**6

    async def close(self) -> None:
        return None


def test_a_log_found_to_hold_another_history_later_stops_the_relay(tmp_path: Path) -> None:
    async def scenario() -> None:
        data = tmp_path / "data"
        core = ExchangeCore.open(data, instruments(), durability=Durability.NONE)
        await _trade(core, 10)
        relay = Relay(
            _LogAwayThenElsewhere(), data, committed=lambda: core.sequencer.durable_sequence
        )
        await relay.start()
        with pytest.raises(LogError, match="another exchange's log"):
            await relay.caught_up(5, timeout=10)
        assert not relay.following
        await relay.stop()  # the failure was reported once; the stop completes
        await core.close()

    asyncio.run(scenario())
