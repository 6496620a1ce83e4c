"""The FIX benchmark's load over real sessions of an in-process gateway: every
order is acknowledged, timed, and an order the engine refuses is counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from clients.loadtest import LoadResult
from server.app import Exchange
from server.bench.fix_load import BEGIN_STRING, OURS, FixLoad, run_fix_load, session_name
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase
from server.processes.fix import order_dictionary
from tests.server.local import local_settings, prepare_accounts

SESSIONS = 3


def _load(tmp_path: Path, tick: int) -> LoadResult:
    async def main() -> LoadResult:
        exchange = Exchange(local_settings(tmp_path, auth_required=False))
        await exchange.start()
        store = StoreDatabase(tmp_path / "fix.db")
        acceptor: Acceptor | None = None
        try:
            names = [session_name(index) for index in range(SESSIONS)]
            await prepare_accounts(exchange, *names)
            assert exchange.core is not None
            ids: dict[SessionID, tuple[str, ...]] = {
                SessionID(BEGIN_STRING, OURS, name): (name,) for name in names
            }
            application = ExchangeApplication(exchange.core, ids)
            sessions = [
                Session(i, order_dictionary(BEGIN_STRING), store.store(str(i)), application,
                        SessionSettings(reset_on_logon=True))
                for i in ids
            ]  # fmt: skip
            for session in sessions:
                application.serve(session)
            acceptor = Acceptor(sessions, store.commit)
            port = await acceptor.start("127.0.0.1", 0)
            load = FixLoad(port, 600, 1.0, SESSIONS, "AAPL", tick, 1_900_000)
            return await asyncio.wait_for(run_fix_load(load), 60)
        finally:
            if acceptor is not None:
                await acceptor.stop()
            store.close()
            await exchange.stop()

    return asyncio.run(main())


def test_every_order_of_every_session_is_acknowledged_and_timed(tmp_path: Path) -> None:
    result = _load(tmp_path, 100)
    assert (result.offered, result.acknowledged, result.errors) == (600, 600, 0)
    assert result.histogram.get_total_count() == 600
    assert 0 < result.percentile_us(50) <= result.percentile_us(99) < 10_000_000


def test_orders_the_engine_refuses_are_counted_as_errors(tmp_path: Path) -> None:
    # Prices off AAPL's tick of 0.01: the engine rejects every order.
    result = _load(tmp_path, 1)
    assert (result.acknowledged, result.errors) == (0, 600)
