"""Sign-in of a FIX session at its Logon, by the same user directory as gRPC.

A session configured with a username must log on with that Username (553) and
its Password (554); the directory checks them with its throttles, lockouts
and audit trail (gateway "fix"), and the session may then use the user's
accounts (those of them the configuration lists, when it lists any). A
session without a username is trusted by its CompIDs alone and uses its
configured accounts. Either way its commands are audited with the user (if
any), the peer's address and gateway "fix".
"""

from __future__ import annotations

from typing import Protocol

from server.auth.directory import AuthRefusal
from server.fix_config import FixSessionSettings
from server.gateways.fix.exchange import GATEWAY, ExchangeApplication
from server.gateways.fix.session import Session, SessionID
from server.journal.codec import Origin

USERNAME = 553
PASSWORD = 554


class Verifier(Protocol):
    async def verify_login(
        self, username: str, password: str, source: str, gateway: str
    ) -> tuple[str, tuple[str, ...]]: ...


class SignIn:
    def __init__(
        self,
        application: ExchangeApplication,
        configured: dict[SessionID, FixSessionSettings],
        directory: Verifier | None,
    ) -> None:
        self._application = application
        self._configured = configured
        self._directory = directory

    async def __call__(self, session: Session, logon: dict[int, str], peer: str) -> str | None:
        config = self._configured[session.id]
        if not config.username:
            self._application.bind(session, Origin("", peer, GATEWAY), config.accounts)
            return None
        username = logon.get(USERNAME, "")
        if username != config.username or self._directory is None:
            return "Username (553) is not this session's user"
        try:
            user_id, owned = await self._directory.verify_login(
                username, logon.get(PASSWORD, ""), peer, GATEWAY
            )
        except AuthRefusal as refusal:
            return str(refusal)
        accounts = tuple(a for a in config.accounts if a in owned) if config.accounts else owned
        if not accounts:
            return "this user owns none of the session's accounts"
        self._application.bind(session, Origin(user_id, peer, GATEWAY), accounts)
        return None
