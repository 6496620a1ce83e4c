"""OrigClOrdID may name any ClOrdID of an order's chain, the latest one
especially, also in a FIX gateway started after the order was replaced (the
chain is the order registry's, which a restarted gateway rebuilds by replay),
and once the order has finished."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from server.app import Exchange
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase
from server.processes.fix import order_dictionary
from tests.server.gateways.fix.client import Client
from tests.server.local import local_settings, prepare_accounts

ID = SessionID("FIX.4.4", "STX", "FAY")


class Gateway:
    """One FIX gateway over the exchange's core: what a start of `stx serve fix` builds."""

    def __init__(self, exchange: Exchange, store_path: Path) -> None:
        assert exchange.core is not None
        self.store = StoreDatabase(store_path)
        application = ExchangeApplication(exchange.core, {ID: ("fay",)})
        session = Session(
            ID, order_dictionary(ID.begin_string), self.store.store(str(ID)), application,
            SessionSettings(),
        )  # fmt: skip
        application.serve(session)
        self.acceptor = Acceptor([session], self.store.commit)

    async def connect(self) -> Client:
        port = await self.acceptor.start("127.0.0.1", 0)
        client = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
        client.send("A", (98, "0"), (108, "30"))
        assert (await client.read())[35] == "A"
        return client

    async def stop(self, client: Client) -> None:
        """Its connections end; its store stays open for the reports that still
        reach its (logged out) session in this process."""
        client.writer.close()
        await self.acceptor.stop()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S")


def _change(
    msg_type: str, cl_ord_id: str, original: str, *extra: tuple[int, str]
) -> list[tuple[int, str]]:
    return [(11, cl_ord_id), *extra, (41, original), (54, "1"), (55, "AAPL"), (60, _now())]


def test_a_gateway_started_later_finds_an_order_by_its_latest_clordid(tmp_path: Path) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=False))
        await exchange.start()
        gateways: list[Gateway] = []
        try:
            await prepare_accounts(exchange, "fay")
            first = Gateway(exchange, tmp_path / "first.db")
            gateways.append(first)
            client = await first.connect()
            client.send("D", (11, "k1"), (38, "100"), (40, "2"), (44, "188"), (54, "1"),
                        (55, "AAPL"), (60, _now()))  # fmt: skip
            new = await client.read()
            assert (new[150], new[11]) == ("0", "k1")
            client.send("G", *_change("G", "k2", "k1", (38, "90"), (40, "2"), (44, "187.9")))
            assert (await client.read())[150] == "5"
            client.send("G", *_change("G", "k3", "k2", (38, "80"), (40, "2"), (44, "187.8")))
            assert (await client.read())[150] == "5"
            await first.stop(client)

            # The gateway restarts: nothing of the chain is in its memory.
            second = Gateway(exchange, tmp_path / "second.db")
            gateways.append(second)
            client = await second.connect()
            client.send("H", (11, "k3"), (54, "1"), (55, "AAPL"))
            status = await client.read()
            assert (status[150], status[37], status[44]) == ("I", new[37], "187.8")
            client.send("G", *_change("G", "k4", "k2", (38, "70"), (40, "2"), (44, "187.7")))
            replaced = await client.read()
            assert (replaced[150], replaced[11], replaced[41], replaced[38]) == (
                "5", "k4", "k2", "70",
            )  # fmt: skip
            client.send("F", *_change("F", "k5", "k4"))
            cancelled = await client.read()
            assert (cancelled[150], cancelled[11], cancelled[41]) == ("4", "k5", "k4")

            # Finished, the order is still found by every id of its chain.
            for name in ("k1", "k3", "k5"):
                client.send("H", (11, name), (54, "1"), (55, "AAPL"))
                finished = await client.read()
                assert (finished[35], finished[150], finished[39], finished[37]) == (
                    "8", "I", "4", new[37],
                ), name  # fmt: skip
            await second.stop(client)
        finally:
            await exchange.stop()
            for gateway in gateways:
                gateway.store.close()

    asyncio.run(main())
