"""The QuickFIX acceptance suite against the acceptor in its test mode.

One test per scenario file (quickfix/definitions/server/fix4x/*.def), each on
its own acceptor, store and port, over real TCP, bounded in time. The
scenarios are played all at once, a few dozen at a time, before the first
test reads its outcome: most of their time is spent waiting out heartbeat
intervals (6_SendTestRequest alone waits 34 s), so one after another they
took about 110 s and together they take little more than the longest.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.gateways.fix.store import StoreDatabase
from server.gateways.fix.testmode import echo_acceptor
from tests.server.gateways.fix.scenario import Runner, load_patterns

DATA = Path(__file__).parent / "quickfix" / "definitions"
PATTERNS = load_patterns(DATA / "fields.fmt")
SCENARIOS = sorted((DATA / "server").glob("fix4*/*.def"))
# The longest scenario (6_SendTestRequest) waits through five heartbeat intervals of 6 s.
SCENARIO_TIMEOUT = 60.0
AT_ONCE = 40


async def _play(path: Path, tmp_path: Path) -> None:
    store = StoreDatabase(tmp_path / "fix.db")
    acceptor = echo_acceptor(store)
    port = await acceptor.start("127.0.0.1", 0)
    try:
        await asyncio.wait_for(Runner(port, PATTERNS).run(path), SCENARIO_TIMEOUT)
    finally:
        await acceptor.stop()
        store.close()


async def _play_all(scratch: Path) -> dict[Path, BaseException | None]:
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(index: int, path: Path) -> BaseException | None:
        folder = scratch / str(index)
        folder.mkdir()
        async with gate:
            try:
                await _play(path, folder)
            except Exception as error:
                return error
            return None

    outcomes = await asyncio.gather(*(one(i, path) for i, path in enumerate(SCENARIOS)))
    return dict(zip(SCENARIOS, outcomes, strict=True))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, BaseException | None]:
    return asyncio.run(_play_all(tmp_path_factory.mktemp("quickfix")))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_scenario(path: Path, outcomes: dict[Path, BaseException | None]) -> None:
    failure = outcomes[path]
    if failure is not None:
        raise failure
