"""Users, sessions and API keys in the store, on both backends."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from server.auth.directory import AuthRefusal, UserDirectory
from server.auth.keys import KeyRing
from server.auth.tokens import TokenIssuer
from server.errors import Refusal
from server.shared import MemoryShared
from server.store import open_store
from server.store.field_crypto import FieldCipher
from server.store.schema import auth_log

PASSWORD = "correct horse battery"


def _run(
    store_url: str, tmp_path: Path, scenario: Callable[[UserDirectory], Awaitable[None]]
) -> None:
    async def main() -> None:
        store = await open_store(store_url, FieldCipher([os.urandom(32)]))
        tokens = TokenIssuer(KeyRing(tmp_path / "keys", 900), "https://stx.test", "stx")
        try:
            await scenario(UserDirectory(store, MemoryShared(), tokens))
        finally:
            await store.close()

    asyncio.run(main())


async def _refused(kind: Refusal, attempt: Awaitable[object]) -> AuthRefusal:
    with pytest.raises(AuthRefusal) as caught:
        await attempt
    assert caught.value.kind is kind, caught.value
    return caught.value


def test_register_and_login(store_url: str, tmp_path: Path) -> None:
    async def scenario(directory: UserDirectory) -> None:
        alice = await directory.register("alice", "Alice@Example.com", PASSWORD)
        assert (alice.username, alice.email, alice.roles) == ("alice", "alice@example.com", (2,))
        assert alice.account_ids == ("ALICE",)
        assert await directory.owner_of("ALICE") == alice.user_id
        await _refused(Refusal.EXISTS, directory.register("alice", "other@example.com", PASSWORD))
        await _refused(Refusal.EXISTS, directory.register("alice2", "alice@example.com", PASSWORD))
        weak = await _refused(Refusal.INVALID, directory.register("bob", "b@example.com", "short"))
        assert weak.field == "password"
        await _refused(Refusal.INVALID, directory.register("B!", "b@example.com", PASSWORD))
        session = await directory.login("alice", PASSWORD, "10.0.0.1")
        claims = directory.tokens.verify(session.access_token)
        assert (claims.subject, claims.roles) == (alice.user_id, (2,))
        await _refused(Refusal.UNAUTHENTICATED, directory.login("alice", "wrong", "10.0.0.1"))
        await _refused(Refusal.UNAUTHENTICATED, directory.login("nobody", PASSWORD, "10.0.0.1"))
        both = await directory.add_account("alice", "ALICE-2")
        assert both.account_ids == ("ALICE", "ALICE-2")
        again = await directory.login("alice", PASSWORD, "10.0.0.1")
        assert directory.tokens.verify(again.access_token).accounts == ("ALICE", "ALICE-2")
        await _refused(Refusal.EXISTS, directory.add_account("alice", "ALICE-2"))
        await _refused(Refusal.INVALID, directory.add_account("alice", "bad id!"))
        await _refused(Refusal.NOT_FOUND, directory.add_account("nobody", "X"))

    _run(store_url, tmp_path, scenario)


def test_failed_logins_lock_the_user_out(store_url: str, tmp_path: Path) -> None:
    async def scenario(directory: UserDirectory) -> None:
        await directory.register("carol", "carol@example.com", PASSWORD)
        for attempt in range(5):
            await _refused(
                Refusal.UNAUTHENTICATED,
                directory.login("carol", f"guess {attempt}", f"10.0.0.{attempt}"),
            )
        # Locked: even the right password is refused until the window ends.
        await _refused(Refusal.THROTTLED, directory.login("carol", PASSWORD, "10.0.0.9"))

    _run(store_url, tmp_path, scenario)


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(store_url: str, tmp_path: Path) -> None:
    async def scenario(directory: UserDirectory) -> None:
        await directory.register("dave", "dave@example.com", PASSWORD)
        first = await directory.login("dave", PASSWORD, "10.0.0.1")
        second = await directory.refresh(first.refresh_token)
        assert second.refresh_token != first.refresh_token
        directory.tokens.verify(second.access_token)
        # The spent first token comes back (stolen?): the whole family dies.
        await _refused(Refusal.UNAUTHENTICATED, directory.refresh(first.refresh_token))
        await _refused(Refusal.UNAUTHENTICATED, directory.refresh(second.refresh_token))
        other = await directory.login("dave", PASSWORD, "10.0.0.1")
        await directory.logout(other.refresh_token)
        await _refused(Refusal.UNAUTHENTICATED, directory.refresh(other.refresh_token))
        await _refused(Refusal.UNAUTHENTICATED, directory.refresh("made-up"))

    _run(store_url, tmp_path, scenario)


def test_api_keys_carry_at_most_their_owners_roles(store_url: str, tmp_path: Path) -> None:
    async def scenario(directory: UserDirectory) -> None:
        erin = await directory.register("erin", "erin@example.com", PASSWORD, roles=(1, 2))
        key, secret = await directory.create_api_key(erin.user_id, "bot", (1,), 0)
        token, _ = await directory.exchange_api_key(key.key_id, secret, "10.0.0.1")
        claims = directory.tokens.verify(token)
        assert (claims.roles, claims.api_key) == ((1,), key.key_id)
        await _refused(Refusal.FORBIDDEN, directory.create_api_key(erin.user_id, "admin", (5,), 0))
        await _refused(
            Refusal.UNAUTHENTICATED, directory.exchange_api_key(key.key_id, "wrong", "10.0.0.1")
        )
        listed = await directory.api_keys_page(erin.user_id, 0, 10)
        assert [row.key_id for row in listed] == [key.key_id]
        revoked = await directory.revoke_api_key(erin.user_id, key.key_id)
        assert revoked.revoke_time > 0
        await _refused(
            Refusal.UNAUTHENTICATED, directory.exchange_api_key(key.key_id, secret, "10.0.0.1")
        )
        frank = await directory.register("frank", "frank@example.com", PASSWORD)
        await _refused(Refusal.NOT_FOUND, directory.revoke_api_key(frank.user_id, key.key_id))

    _run(store_url, tmp_path, scenario)


def test_each_lockout_lasts_twice_as_long_as_the_one_before(tmp_path: Path) -> None:
    class Clock:
        now = 1_800_000_000.0

        def __call__(self) -> float:
            return self.now

    async def scenario() -> None:
        clock = Clock()
        store = await open_store(f"sqlite:///{tmp_path / 'stx.db'}", FieldCipher([os.urandom(32)]))
        tokens = TokenIssuer(KeyRing(tmp_path / "keys", 900), "https://stx.test", "stx")
        directory = UserDirectory(store, MemoryShared(clock), tokens, clock)
        try:
            await directory.register("gus", "gus@example.com", PASSWORD)

            async def fail_five_times() -> None:
                for attempt in range(5):
                    guess = directory.login("gus", f"guess {attempt}", "10.0.0.1")
                    await _refused(Refusal.UNAUTHENTICATED, guess)

            await fail_five_times()
            await _refused(Refusal.THROTTLED, directory.login("gus", PASSWORD, "10.0.0.1"))
            clock.now += 61  # the first lock lasts a minute
            await directory.login("gus", PASSWORD, "10.0.0.1")
            await fail_five_times()
            clock.now += 61
            await _refused(Refusal.THROTTLED, directory.login("gus", PASSWORD, "10.0.0.1"))
            clock.now += 60  # the second one two
            await directory.login("gus", PASSWORD, "10.0.0.1")
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_login_without_token_for_the_fix_gateway_is_audited_as_fix(
    store_url: str, tmp_path: Path
) -> None:
    async def scenario(directory: UserDirectory) -> None:
        alice = await directory.register("alice", "alice@example.com", PASSWORD)
        assert await directory.verify_login("alice", PASSWORD, "10.0.0.9", "fix") == (
            alice.user_id,
            ("ALICE",),
        )
        await _refused(
            Refusal.UNAUTHENTICATED, directory.verify_login("alice", "wrong", "10.0.0.9", "fix")
        )
        await directory.login("alice", PASSWORD, "10.0.0.1")
        async with directory._store.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(auth_log.c.event, auth_log.c.gateway, auth_log.c.source)
                    .where(auth_log.c.event.in_(("login", "login_failed")))
                    .order_by(auth_log.c.entry_id)
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("login", "fix", "10.0.0.9"),
            ("login_failed", "fix", "10.0.0.9"),
            ("login", "grpc", "10.0.0.1"),
        ]

    _run(store_url, tmp_path, scenario)
