"""Personal data at rest, on both backends: what the database holds is sealed,
and everything the application does with it still works."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from server.auth.directory import AuthRefusal, UserDirectory
from server.auth.keys import KeyRing
from server.auth.passwords import hash_password
from server.auth.tokens import TokenIssuer
from server.errors import Refusal
from server.shared import MemoryShared
from server.store import Store, database, open_store, schema
from server.store.data_key import DataKeyError
from server.store.field_crypto import FieldCipher, key_id
from tests.throwaway import PostgresServer

PASSWORD = "correct horse battery"
EMAIL = "Ann.Lee@Example.COM"
FORMS = (EMAIL.encode(), EMAIL.lower().encode())


def _directory(store: Store, tmp_path: Path) -> UserDirectory:
    tokens = TokenIssuer(KeyRing(tmp_path / "keys", 900), "https://stx.test", "stx")
    return UserDirectory(store, MemoryShared(), tokens)


async def _raw_values(store: Store) -> list[bytes]:
    """Every value of every row of every table, read with plain SQL, as bytes."""
    found = []
    async with store.engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            result = await connection.execute(text(f"SELECT * FROM {table.name}"))
            for row in result.all():
                found += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return found


def _sqlite_files(store_url: str) -> list[bytes]:
    """The SQLite database and its write-ahead log, byte for byte (none on PostgreSQL)."""
    if not store_url.startswith("sqlite"):
        return []
    path = Path(store_url.removeprefix("sqlite:///"))
    return [
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    ]


async def _refused(kind: Refusal, attempt: Awaitable[object]) -> None:
    with pytest.raises(AuthRefusal) as caught:
        await attempt
    assert caught.value.kind is kind, caught.value


def test_the_database_never_holds_an_email_in_clear(store_url: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(store_url, FieldCipher([os.urandom(32)]))
        try:
            directory = _directory(store, tmp_path)
            ann = await directory.register("ann", EMAIL, PASSWORD)
            values = await _raw_values(store)
            assert values, "the scan read nothing"
            for value in values:
                assert not any(form in value for form in FORMS), value
            for contents in _sqlite_files(store_url):
                assert not any(form in contents for form in FORMS)
            # What the application does with the address still works.
            assert ann.email == EMAIL.lower()
            found = await directory.user(ann.user_id)
            assert found is not None
            assert found.email == EMAIL.lower()
            await directory.login("ann", PASSWORD, "10.0.0.1")
            await _refused(Refusal.EXISTS, directory.register("ann2", EMAIL.upper(), PASSWORD))
            bob = await directory.register("bob", "bob@example.com", PASSWORD)
            assert bob.email == "bob@example.com"
        finally:
            await store.close()

    asyncio.run(scenario())


async def _user_at_0004(store_url: str) -> None:
    """A store as revision 0004 left it, with one user whose e-mail is in clear."""
    old = await open_store(store_url, revision="0004")
    try:
        async with old.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (user_id, username, email, password_hash, roles, "
                    "create_time) VALUES ('u-old', 'ann', :email, :hash, '2', 1)"
                ),
                {"email": EMAIL.lower(), "hash": hash_password(PASSWORD)},
            )
            await connection.execute(
                text("INSERT INTO account_owners (account_id, user_id) VALUES ('ANN', 'u-old')")
            )
    finally:
        await old.close()


async def _postgres_table_file(store: Store, server: PostgresServer, table: str) -> bytes:
    """The bytes of ``table``'s heap file, after a checkpoint wrote every page."""
    async with store.engine.connect() as connection:
        await connection.exec_driver_sql("CHECKPOINT")
        relative = await connection.scalar(text(f"SELECT pg_relation_filepath('{table}')"))
    return (server.data / str(relative)).read_bytes()


def test_the_migration_seals_the_addresses_already_stored(
    store_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async def scenario() -> None:
        await _user_at_0004(store_url)
        cipher = FieldCipher([os.urandom(32)])
        store = await open_store(store_url, cipher)
        try:
            for value in await _raw_values(store):
                assert not any(form in value for form in FORMS), value
            # Not even the old row versions keep the address on disk.
            files = _sqlite_files(store_url)
            if store.backend == "postgresql":
                server = request.getfixturevalue("postgres_server")
                files.append(await _postgres_table_file(store, server, "users"))
            assert files
            for contents in files:
                assert not any(form in contents for form in FORMS)
            directory = _directory(store, tmp_path)
            ann = await directory.user("u-old")
            assert ann is not None
            assert (ann.username, ann.email, ann.account_ids) == ("ann", EMAIL.lower(), ("ANN",))
            await directory.login("ann", PASSWORD, "10.0.0.1")
            # The index the migration computed is the one registration checks.
            await _refused(Refusal.EXISTS, directory.register("ann2", EMAIL, PASSWORD))
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_migration_refuses_without_the_key_and_changes_nothing(
    store_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        await _user_at_0004(store_url)
        with pytest.raises(RuntimeError, match="needs the data key"):
            await open_store(store_url)
        # Nothing half-done is left behind: with the key, the migration runs whole.
        store = await open_store(store_url, FieldCipher([os.urandom(32)]))
        try:
            ann = await _directory(store, tmp_path).user("u-old")
            assert ann is not None
            assert ann.email == EMAIL.lower()
        finally:
            await store.close()

    asyncio.run(scenario())


def test_rotation_reseals_every_row_under_the_new_key(store_url: str, tmp_path: Path) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)

    async def scenario() -> None:
        store = await open_store(store_url, FieldCipher([old_key]))
        try:
            directory = _directory(store, tmp_path)
            ann = await directory.register("ann", EMAIL, PASSWORD)
            await directory.register("bob", "bob@example.com", PASSWORD)
        finally:
            await store.close()
        rotated = await open_store(store_url, FieldCipher([new_key, old_key]))
        try:
            assert await rotated.reseal() == 2
            assert await rotated.reseal() == 0  # done: running it again changes nothing
            sealed = [row.email_ciphertext for row in await rotated.rows(schema.users, ["user_id"])]
            assert {FieldCipher.sealed_key_id(value) for value in sealed} == {key_id(new_key)}
        finally:
            await rotated.close()
        # The old key can go now: everything opens, and uniqueness holds under the new index.
        store = await open_store(store_url, FieldCipher([new_key]))
        try:
            directory = _directory(store, tmp_path)
            found = await directory.user(ann.user_id)
            assert found is not None
            assert found.email == EMAIL.lower()
            await _refused(Refusal.EXISTS, directory.register("ann2", EMAIL, PASSWORD))
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_process_with_another_key_is_refused_before_it_writes(
    store_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        store = await open_store(store_url, FieldCipher([os.urandom(32)]))
        try:
            await _directory(store, tmp_path).register("ann", EMAIL, PASSWORD)
        finally:
            await store.close()
        stranger = os.urandom(32)
        with pytest.raises(DataKeyError, match="not among this process's keys"):
            await open_store(store_url, FieldCipher([stranger]))

    asyncio.run(scenario())


def test_the_migration_downgrades_to_addresses_in_clear_and_back(store_url: str) -> None:
    cipher = FieldCipher([os.urandom(32)])

    def downgrade(connection: Connection) -> None:
        config = Config()
        config.set_main_option(
            "script_location", str(Path(database.__file__).parent / "migrations")
        )
        config.attributes.update(connection=connection, cipher=cipher)
        command.downgrade(config, "0004")

    async def scenario() -> None:
        await _user_at_0004(store_url)
        store = await open_store(store_url, cipher)
        try:
            async with store.engine.begin() as connection:
                await connection.run_sync(downgrade)
            async with store.engine.connect() as connection:
                rows = await connection.execute(text("SELECT user_id, email FROM users"))
                assert rows.all() == [("u-old", EMAIL.lower())]
        finally:
            await store.close()
        again = await open_store(store_url, cipher)
        await again.close()

    asyncio.run(scenario())
