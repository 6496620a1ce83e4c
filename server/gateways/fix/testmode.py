"""The acceptor in its test mode, as the QuickFIX acceptance suite expects it.

SenderCompID ISLD, one session per supported version (counterparty TW42 for
FIX 4.2, TW44 for FIX 4.4), ResetOnLogon, the echo application. Run it alone
with `python -m server.gateways.fix.testmode --port 9878 --store /tmp/fix.db`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.echo import EchoApplication
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase

SENDER_COMP_ID = "ISLD"
COUNTERPARTIES = {"FIX.4.2": "TW42", "FIX.4.4": "TW44"}


def echo_acceptor(store: StoreDatabase, clock: Callable[[], float] = time.time) -> Acceptor:
    application = EchoApplication()
    settings = SessionSettings(reset_on_logon=True)
    sessions = []
    for begin_string, target in COUNTERPARTIES.items():
        session_id = SessionID(begin_string, SENDER_COMP_ID, target)
        sessions.append(
            Session(
                session_id,
                dictionary.load(begin_string),
                store.store(str(session_id)),
                application,
                settings,
                clock,
            )
        )
    return Acceptor(sessions, store.commit)


async def _serve(port: int, store_path: Path) -> None:
    store = StoreDatabase(store_path)
    acceptor = echo_acceptor(store)
    await acceptor.start("127.0.0.1", port)
    try:
        await asyncio.Event().wait()
    finally:
        await acceptor.stop()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9878)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.store))


if __name__ == "__main__":
    main()
