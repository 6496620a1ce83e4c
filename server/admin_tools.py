"""What ``stx admin`` does, on the store the configuration names."""

from __future__ import annotations

from pathlib import Path

from server.audit import AUDIT_FIELDS, AUTH_FIELDS, verify
from server.auth.directory import AuthRefusal, UserDirectory, UserView
from server.auth.keys import KeyRing
from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS, TokenIssuer
from server.config import Settings
from server.secret_values import database_url
from server.shared import MemoryShared
from server.store import default_url, open_store, schema


class AdminError(Exception):
    """The administrative action was refused; the message says why."""


async def add_account(settings: Settings, username: str, account_id: str) -> UserView:
    store = await open_store(_store_url(settings))
    try:
        directory = UserDirectory(store, MemoryShared(), _tokens(settings))
        try:
            return await directory.add_account(username, account_id)
        except AuthRefusal as refusal:
            raise AdminError(str(refusal)) from None
    finally:
        await store.close()


def _store_url(settings: Settings) -> str:
    return database_url(settings.database_url or default_url(Path(settings.data_dir)))


def _tokens(settings: Settings) -> TokenIssuer:
    # Administration issues no tokens: a throwaway key, so neither the key
    # files nor the PKCS#11 token (and its PIN) are touched.
    keys = KeyRing(None, ACCESS_SECONDS + LEEWAY_SECONDS)
    return TokenIssuer(keys, settings.token_issuer, settings.token_audience)


async def create_user(
    settings: Settings, username: str, email: str, password: str, roles: tuple[int, ...]
) -> UserView:
    store = await open_store(_store_url(settings))
    try:
        directory = UserDirectory(store, MemoryShared(), _tokens(settings))
        try:
            return await directory.register(username, email, password, roles)
        except AuthRefusal as refusal:
            raise AdminError(str(refusal)) from None
    finally:
        await store.close()


async def verify_audit(settings: Settings) -> list[tuple[str, int, str | None]]:
    """(log, entries checked, first problem or None) for both audit logs."""
    store = await open_store(_store_url(settings))
    try:
        commands = await store.rows(schema.audit_log, ["sequence"])
        events = await store.rows(schema.auth_log, ["entry_id"])
    finally:
        await store.close()
    return [
        ("audit_log", *verify((dict(row._mapping) for row in commands), AUDIT_FIELDS, "sequence")),
        ("auth_log", *verify((dict(row._mapping) for row in events), AUTH_FIELDS, "entry_id")),
    ]
