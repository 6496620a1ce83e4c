"""What ``stx admin`` does, on the store the configuration names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from server.audit import AUDIT_FIELDS, AUTH_FIELDS, verify
from server.auth.directory import AuthRefusal, UserDirectory, UserView
from server.auth.keys import KeyRing
from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS, TokenIssuer
from server.config import Settings
from server.datadir import DataDirInUseError, lock_data_dir, unlock_data_dir
from server.hsm.key_source import data_key_wrapper
from server.hsm.token import HsmError
from server.secret_values import database_url
from server.shared import MemoryShared
from server.store import Store, default_url, open_store, schema
from server.store.data_key import (
    DataKeyError,
    KeyWrapper,
    add_new_key,
    key_file,
    load_data_keys,
    open_cipher,
)


class AdminError(Exception):
    """The administrative action was refused; the message says why."""


async def add_account(settings: Settings, username: str, account_id: str) -> UserView:
    store = await _open(settings)
    try:
        directory = UserDirectory(store, MemoryShared(), _tokens(settings))
        try:
            return await directory.add_account(username, account_id)
        except AuthRefusal as refusal:
            raise AdminError(str(refusal)) from None
    finally:
        await store.close()


async def _open(settings: Settings, environ: Mapping[str, str] | None = None) -> Store:
    """The store the configuration names, with its data keys (migrations may need them)."""
    data_dir = Path(settings.data_dir)
    try:
        cipher = open_cipher(data_dir, environ, _wrapper(settings, environ))
        return await open_store(_store_url(settings), cipher)
    except DataKeyError as error:
        raise AdminError(str(error)) from None


def _wrapper(settings: Settings, environ: Mapping[str, str] | None) -> KeyWrapper | None:
    try:
        return data_key_wrapper(settings, os.environ if environ is None else environ)
    except HsmError as error:
        raise AdminError(str(error)) from None


async def rotate_data_key(
    settings: Settings, *, new_key: bool = True, environ: Mapping[str, str] | None = None
) -> tuple[str, int]:
    """Put a new data key first in the key file (unless ``new_key`` is false:
    the operator already did, or the keys come from STX_DATA_KEY) and re-seal
    every row under the current key; (its id in hex, rows re-sealed).

    Refused while a server runs on the data directory: it would go on
    sealing new users under the old key."""
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        lock = lock_data_dir(data_dir)
    except DataDirInUseError as error:
        raise AdminError(f"stop the server first: {error}") from None
    try:
        return await _rotate_data_key(settings, data_dir, new_key, environ)
    finally:
        unlock_data_dir(lock)


async def _rotate_data_key(
    settings: Settings, data_dir: Path, new_key: bool, environ: Mapping[str, str] | None
) -> tuple[str, int]:
    wrapper = _wrapper(settings, environ)
    if new_key:
        path = key_file(data_dir, environ, wrapper)
        if path is None:
            raise AdminError(
                "the data keys come from STX_DATA_KEY: put a new key first in it "
                "(`head -c 32 /dev/urandom | base64`, then a comma and the old keys) "
                "and run this again with --no-new-key"
            )
        try:
            load_data_keys(data_dir, environ, wrapper)  # checks the ring (and makes a first one)
            add_new_key(path, wrapper)
        except DataKeyError as error:
            raise AdminError(str(error)) from None
        except OSError as error:  # a read-only mount, say
            raise AdminError(f"cannot write the new key to {path}: {error}") from None
    store = await _open(settings, environ)
    try:
        return store.cipher.current_key_id.hex(), await store.reseal()
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
    store = await _open(settings)
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
    store = await _open(settings)
    try:
        commands = await store.rows(schema.audit_log, ["sequence"])
        events = await store.rows(schema.auth_log, ["entry_id"])
    finally:
        await store.close()
    return [
        ("audit_log", *verify((dict(row._mapping) for row in commands), AUDIT_FIELDS, "sequence")),
        ("auth_log", *verify((dict(row._mapping) for row in events), AUTH_FIELDS, "entry_id")),
    ]
