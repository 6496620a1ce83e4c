"""The QuickFIX acceptance suite against the acceptor in its test mode.

One test per scenario file (quickfix/definitions/server/fix4x/*.def), each on
its own acceptor, store and port, over real TCP, bounded in time.
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


async def _play(path: Path, tmp_path: Path) -> None:
    store = StoreDatabase(tmp_path / "fix.db")
    acceptor = echo_acceptor(store)
    port = await acceptor.start("127.0.0.1", 0)
    try:
        await asyncio.wait_for(Runner(port, PATTERNS).run(path), SCENARIO_TIMEOUT)
    finally:
        await acceptor.stop()
        store.close()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_scenario(path: Path, tmp_path: Path) -> None:
    asyncio.run(_play(path, tmp_path))
