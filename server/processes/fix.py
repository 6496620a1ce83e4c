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

from server.auth.directory import UserDirectory
from server.auth.keys import KeyRing
from server.auth.tokens import TokenIssuer
from server.config import Settings
from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.dictionary import Dictionary, FieldDef
from server.gateways.fix.exchange import ExchangeApplication
from server.gateways.fix.orders import SELF_TRADE_PREVENTION
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.signin import PASSWORD, USERNAME, SignIn
from server.gateways.fix.store import StoreDatabase
from server.hsm.key_source import LONGEST_TOKEN_SECONDS
from server.link.client import CoreClient
from server.processes.link import gateway_link
from server.processes.stores import open_configured_store
from server.shared import EventBus, SharedState, open_shared
from server.store import Store
from server.transport.listen import host_port

_log = logging.getLogger("stx.fix")
STORE_FILE = "fix.db"


def order_dictionary(begin_string: str) -> Dictionary:
    """The version's dictionary with our self-trade prevention tag on NewOrderSingle,
    and Username/Password on the Logon where the version has none (FIX 4.2)."""
    ours = FieldDef(SELF_TRADE_PREVENTION, "SelfTradePrevention", "INT", frozenset())
    spec = dictionary.load(begin_string).with_field(ours, ("D",))
    for tag, name in ((USERNAME, "Username"), (PASSWORD, "Password")):
        if tag not in spec.fields:
            spec = spec.with_field(FieldDef(tag, name, "STRING", frozenset()), ("A",))
    return spec


class FixProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: CoreClient | None = None
        self.users: Store | None = None
        self.shared: SharedState | None = None
        self.bus: EventBus | None = None
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
        users: UserDirectory | None = None
        if any(s.username for s in configured):
            # Sign-in checks passwords only: a key ring in memory, no token leaves it.
            self.users = await open_configured_store(settings)
            self.shared, self.bus = await open_shared(settings.redis_url)
            tokens = TokenIssuer(
                KeyRing(None, LONGEST_TOKEN_SECONDS), settings.token_issuer,
                settings.token_audience,
            )  # fmt: skip
            users = UserDirectory(self.users, self.shared, tokens)
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
        by_id = {
            SessionID(s.begin_string, s.sender_comp_id, s.target_comp_id): s for s in configured
        }
        sign_in = SignIn(application, by_id, users)
        self.acceptor = Acceptor(sessions, self.store.commit, sign_in=sign_in)
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
        if self.users is not None:
            await self.users.close()
        for closing in (self.shared, self.bus):
            if closing is not None:
                await closing.close()
        _log.info("FIX gateway stopped")
