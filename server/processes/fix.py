"""``stx serve fix``: the FIX 4.2/4.4 order-entry gateway in front of the core.

Like the gRPC gateway it keeps a replica of the engine by following the core
over the link and hands commands to the core through the replica's remote
sequencer; the FIX sessions configured in ``[fix]`` (docs/fix.md) are served
on their own port, with their sequence numbers and sent messages kept in
``<data dir>/fix.db`` across restarts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from server.config import Settings
from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.dictionary import Dictionary, FieldDef
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.orders import SELF_TRADE_PREVENTION
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase
from server.link.client import CoreClient
from server.processes.link import gateway_link
from server.transport.listen import host_port

_log = logging.getLogger("stx.fix")
STORE_FILE = "fix.db"


def order_dictionary(begin_string: str) -> Dictionary:
    """The version's dictionary with our self-trade prevention tag on NewOrderSingle."""
    ours = FieldDef(SELF_TRADE_PREVENTION, "SelfTradePrevention", "INT", frozenset())
    return dictionary.load(begin_string).with_field(ours, ("D",))


class FixProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: CoreClient | None = None
        self.store: StoreDatabase | None = None
        self.acceptor: Acceptor | None = None
        self.port = 0

    async def start(self) -> None:
        settings = self.settings
        configured = settings.fix.sessions
        if not configured:
            _log.info("no FIX sessions configured ([fix.sessions]): the FIX gateway is idle")
            return
        directory = Path(settings.data_dir)
        replica, self.client = await gateway_link(directory)
        self.store = StoreDatabase(directory / STORE_FILE)
        ids = {
            SessionID(s.begin_string, s.sender_comp_id, s.target_comp_id): s.accounts
            for s in configured
        }
        application = ExchangeApplication(replica, ids)
        options = SessionSettings(reset_on_logon=settings.fix.reset_on_logon)
        sessions = [
            Session(i, order_dictionary(i.begin_string), self.store.store(str(i)), application,
                    options)
            for i in ids
        ]  # fmt: skip
        for session in sessions:
            application.serve(session)
        self.acceptor = Acceptor(sessions, self.store.commit)
        self.port = await self.acceptor.start(settings.listen_address, settings.fix.port)
        _log.info(
            "FIX gateway serving %d session(s) on %s at sequence %d",
            len(sessions), host_port(settings.listen_address, self.port), replica.sequence,
        )  # fmt: skip

    async def stop(self) -> None:
        if self.acceptor is not None:
            await self.acceptor.stop()
        if self.client is not None:
            await self.client.stop()
        if self.store is not None:
            self.store.close()
        _log.info("FIX gateway stopped")
