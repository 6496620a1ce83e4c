"""FIX order entry against an in-process exchange: orders, fills, replace,
status, cancel, refusals; the reports are the account's, whoever traded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from matching import NewOrder, OrderType, Side
from server.app import Exchange
from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.dictionary import FieldDef
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.orders import SELF_TRADE_PREVENTION
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase
from tests.server.gateways.fix.client import Client
from tests.server.local import local_settings, prepare_accounts

ID = SessionID("FIX.4.4", "STX", "FAY")


def _order(
    cl_ord_id: str, price: str, quantity: int = 100, *extra: tuple[int, str]
) -> list[tuple[int, str]]:
    now = datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S")
    return [(11, cl_ord_id), (38, str(quantity)), (40, "2"), (44, price), (54, "1"),
            (55, "AAPL"), (60, now), *extra]  # fmt: skip


def _run(
    tmp_path: Path,
    scenario: Callable[[Client, Exchange, int], Awaitable[None]],
    session_id: SessionID = ID,
) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=False))
        await exchange.start()
        store = StoreDatabase(tmp_path / "fix.db")
        acceptor: Acceptor | None = None
        try:
            await prepare_accounts(exchange, "fay", "gus")
            assert exchange.core is not None
            spec = dictionary.load(session_id.begin_string).with_field(
                FieldDef(SELF_TRADE_PREVENTION, "SelfTradePrevention", "INT", frozenset()),
                ("D",),
            )
            application = ExchangeApplication(exchange.core, {session_id: ("fay",)})
            session = Session(
                session_id, spec, store.store(str(session_id)), application, SessionSettings()
            )
            application.serve(session)
            acceptor = Acceptor([session], store.commit)
            port = await acceptor.start("127.0.0.1", 0)
            client = Client(session_id, *await asyncio.open_connection("127.0.0.1", port))
            client.send("A", (98, "0"), (108, "30"))
            assert (await client.read())[35] == "A"
            await scenario(client, exchange, port)
            client.writer.close()
        finally:
            if acceptor is not None:
                await acceptor.stop()
            store.close()
            await exchange.stop()

    asyncio.run(main())


def test_an_order_is_acknowledged_filled_replaced_and_cancelled(tmp_path: Path) -> None:
    async def scenario(client: Client, exchange: Exchange, _: int) -> None:
        client.send("D", *_order("b1", "188.00"))
        new = await client.read()
        assert (new[35], new[150], new[39], new[11], new[44]) == ("8", "0", "0", "b1", "188")
        order_id = new[37]

        # Another participant sells into it, not through FIX: fay still hears of it.
        assert exchange.core is not None
        sequencer = exchange.core.sequencer
        sell = NewOrder(sequencer.now(), "gus", "AAPL", Side.SELL, OrderType.LIMIT, 40, 1_880_000)
        sequencer.submit(sell, "g1")
        sequencer.commit_now()
        fill = await client.read()
        assert (fill[150], fill[39], fill[37]) == ("F", "1", order_id)
        assert (fill[31], fill[32], fill[14], fill[151], fill[6]) == (
            "188",
            "40",
            "40",
            "60",
            "188",
        )

        client.send("G", (11, "b2"), (38, "80"), (40, "2"), (41, "b1"), (44, "187.5"),
                    (54, "1"), (55, "AAPL"), (60, new[60][:17]))  # fmt: skip
        replaced = await client.read()
        assert (replaced[150], replaced[11], replaced[41], replaced[44]) == (
            "5",
            "b2",
            "b1",
            "187.5",
        )
        assert (replaced[38], replaced[151]) == ("80", "40")

        client.send("H", (11, "b2"), (54, "1"), (55, "AAPL"))
        status = await client.read()
        assert (status[150], status[39], status[37], status[14]) == ("I", "1", order_id, "40")

        client.send("F", (11, "b3"), (41, "b2"), (54, "1"), (55, "AAPL"), (60, new[60][:17]))
        cancelled = await client.read()
        assert (cancelled[150], cancelled[39], cancelled[11], cancelled[41]) == (
            "4",
            "4",
            "b3",
            "b2",
        )

        client.send("F", (11, "b4"), (41, "b2"), (54, "1"), (55, "AAPL"), (60, new[60][:17]))
        too_late = await client.read()
        assert (too_late[35], too_late[434], too_late[11], too_late[41]) == ("9", "1", "b4", "b2")

    _run(tmp_path, scenario)


def test_refusals_are_reports_with_reasons(tmp_path: Path) -> None:
    async def scenario(client: Client, _: Exchange, __: int) -> None:
        client.send("D", *_order("c1", "188.00"))
        assert (await client.read())[150] == "0"
        client.send("D", *_order("c1", "188.00"))
        duplicate = await client.read()
        assert (duplicate[150], duplicate[39], duplicate[103]) == ("8", "8", "6")

        client.send("D", *_order("c2", "188.00001"))
        fine = await client.read()
        assert fine[150] == "8"
        assert "at most 4 decimals" in fine[58]

        client.send("D", *_order("c3", "188.005"))
        off_tick = await client.read()
        assert (off_tick[150], off_tick[58]) == ("8", "PRICE_NOT_ON_TICK")

        client.send("D", *_order("c4", "188.00", 100, (1, "gus")))
        foreign = await client.read()
        assert foreign[150] == "8"
        assert "Account" in foreign[58]

        client.send(
            "F", (11, "c5"), (41, "nope"), (54, "1"), (55, "AAPL"), (60, "20260101-00:00:00")
        )
        unknown = await client.read()
        assert (unknown[35], unknown[102], unknown[37]) == ("9", "1", "NONE")

        # An execution report is for the exchange to send, not to receive.
        client.send("8", (6, "0"), (14, "0"), (17, "x"), (37, "x"), (39, "0"), (54, "1"),
                    (55, "AAPL"), (150, "0"), (151, "0"))  # fmt: skip
        business = await client.read()
        assert (business[35], business[380]) == ("j", "3")

    _run(tmp_path, scenario)


def test_mass_cancel_and_self_trade_prevention_tag(tmp_path: Path) -> None:
    async def scenario(client: Client, _: Exchange, __: int) -> None:
        client.send("D", *_order("m1", "188.00", 100, (SELF_TRADE_PREVENTION, "2")))
        assert (await client.read())[150] == "0"
        client.send("D", *_order("m2", "187.00"))
        assert (await client.read())[150] == "0"
        client.send("q", (11, "mc"), (530, "7"), (60, "20260101-00:00:00"))
        cancelled = {(await client.read())[11] for _ in range(2)}
        assert cancelled == {"m1", "m2"}

    _run(tmp_path, scenario)


def test_reports_while_disconnected_are_kept_and_resent_at_the_next_logon(
    tmp_path: Path,
) -> None:
    async def scenario(client: Client, exchange: Exchange, port: int) -> None:
        client.send("D", *_order("r1", "188.00"))
        assert (await client.read())[34] == "2"
        client.writer.close()
        await asyncio.sleep(0.2)

        assert exchange.core is not None
        sequencer = exchange.core.sequencer
        sell = NewOrder(sequencer.now(), "gus", "AAPL", Side.SELL, OrderType.LIMIT, 100, 1_880_000)
        sequencer.submit(sell, "g1")
        await sequencer.durable()

        again = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
        again.seq = client.seq
        again.send("A", (98, "0"), (108, "30"))
        logon = await again.read()
        assert (logon[35], logon[34]) == ("A", "4")  # the fill took number 3 meanwhile
        again.send("2", (7, "3"), (16, "0"))
        fill = await again.read()
        assert (fill[35], fill[34], fill[43], fill[150], fill[39]) == ("8", "3", "Y", "F", "2")
        gap = await again.read()
        assert (gap[35], gap[34], gap[36]) == ("4", "4", "5")
        again.writer.close()

    _run(tmp_path, scenario)


def test_fix_4_2_reports_fills_with_its_own_exec_types(tmp_path: Path) -> None:
    async def scenario(client: Client, exchange: Exchange, _: int) -> None:
        client.send("D", *_order("f1", "188.00"), (21, "1"))
        new = await client.read()
        assert (new[8], new[20], new[150], new[39]) == ("FIX.4.2", "0", "0", "0")
        assert exchange.core is not None
        sequencer = exchange.core.sequencer
        for quantity, exec_type in ((40, "1"), (60, "2")):
            sell = NewOrder(
                sequencer.now(), "gus", "AAPL", Side.SELL, OrderType.LIMIT, quantity, 1_880_000
            )
            sequencer.submit(sell, f"g{quantity}")
            sequencer.commit_now()
            fill = await client.read()
            assert (fill[150], fill[32], fill[31]) == (exec_type, str(quantity), "188")
        client.send("H", (11, "f1"), (54, "1"), (55, "AAPL"))
        status = await client.read()
        assert (status[20], status[150], status[39]) == ("3", "2", "2")

    _run(tmp_path, scenario, SessionID("FIX.4.2", "STX", "FAY"))
