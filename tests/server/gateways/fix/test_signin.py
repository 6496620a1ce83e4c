"""A FIX session bound to a user: Username/Password on the Logon, checked by the
user directory (audited with gateway "fix"); the user's accounts are the
session's."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server.app import Exchange
from server.auth.administration import Actor, Administration
from server.fix_config import FixSessionSettings
from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.signin import SignIn
from server.gateways.fix.store import StoreDatabase
from server.store.schema import auth_log
from tests.server.gateways.fix.client import Client
from tests.server.local import local_settings, prepare_accounts

ID = SessionID("FIX.4.4", "STX", "FAYCO")
PASSWORD = "correct horse battery"


def test_a_session_signs_in_with_the_users_password_and_trades_for_its_account(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=False))
        await exchange.start()
        store = StoreDatabase(tmp_path / "fix.db")
        acceptor: Acceptor | None = None
        try:
            assert exchange.core is not None
            assert exchange.directory is not None
            fay = await exchange.directory.register("fay", "fay@example.com", PASSWORD)
            await prepare_accounts(exchange, *fay.account_ids)
            application = ExchangeApplication(exchange.core, {})
            session = Session(
                ID, dictionary.load(ID.begin_string), store.store(str(ID)), application,
                SessionSettings(),
            )  # fmt: skip
            config = FixSessionSettings(ID.begin_string, "STX", "FAYCO", (), "fay")
            sign_in = SignIn(application, {ID: config}, exchange.directory)
            acceptor = Acceptor([session], store.commit, sign_in=sign_in)
            port = await acceptor.start("127.0.0.1", 0)

            wrong = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
            wrong.send("A", (98, "0"), (108, "30"), (553, "fay"), (554, "not it"))
            refused = await wrong.read()
            assert (refused[35], refused[58]) == ("5", "wrong username or password")
            assert await wrong.reader.read() == b""  # then the connection ends

            client = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
            client.send("A", (98, "0"), (108, "30"), (553, "fay"), (554, PASSWORD))
            assert (await client.read())[35] == "A"
            client.send("D", (11, "s1"), (38, "10"), (40, "2"), (44, "188"), (54, "1"),
                        (55, "AAPL"), (60, "20260101-00:00:00"))  # fmt: skip
            report = await client.read()
            assert (report[150], report[1]) == ("0", fay.account_ids[0])
            client.writer.close()

            # Disabled by an administrator: the next Logon is refused, with
            # the reason, whatever the password.
            assert exchange.store is not None
            admin = Actor("an-admin", "127.0.0.1", "grpc")
            administration = Administration(exchange.directory, exchange.store)
            await administration.set_disabled(admin, fay.user_id, True, "left the firm")
            disabled = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
            disabled.send("A", (98, "0"), (108, "30"), (553, "fay"), (554, PASSWORD))
            refused = await disabled.read()
            assert (refused[35], refused[58]) == ("5", "this user is disabled by an administrator")
            assert await disabled.reader.read() == b""

            async with exchange.store.engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(auth_log.c.event, auth_log.c.gateway).where(
                            auth_log.c.event.in_(("login", "login_failed", "login_disabled"))
                        )
                    )
                ).all()
            assert sorted(tuple(row) for row in rows) == [
                ("login", "fix"),
                ("login_disabled", "fix"),
                ("login_failed", "fix"),
            ]
        finally:
            if acceptor is not None:
                await acceptor.stop()
            store.close()
            await exchange.stop()

    asyncio.run(main())
