"""What ``stx admin`` does, on the store the configuration names."""

from __future__ import annotations

from pathlib import Path

from server.auth.directory import AuthRefusal, UserDirectory, UserView
from server.auth.keys import KeyRing
from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS, TokenIssuer
from server.config import Settings
from server.shared import MemoryShared
from server.store import default_url, open_store


class AdminError(Exception):
    """The administrative action was refused; the message says why."""


async def create_user(
    settings: Settings, username: str, email: str, password: str, roles: tuple[int, ...]
) -> UserView:
    store = await open_store(settings.database_url or default_url(Path(settings.data_dir)))
    try:
        keys = KeyRing(Path(settings.data_dir) / "keys", ACCESS_SECONDS + LEEWAY_SECONDS)
        tokens = TokenIssuer(keys, settings.token_issuer, settings.token_audience)
        directory = UserDirectory(store, MemoryShared(), tokens)
        try:
            return await directory.register(username, email, password, roles)
        except AuthRefusal as refusal:
            raise AdminError(str(refusal)) from None
    finally:
        await store.close()
