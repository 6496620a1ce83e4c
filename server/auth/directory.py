"""Users, their trading accounts, sessions and API keys, kept in the store.

Refusals are values (``AuthRefusal`` with a code the error table maps to a
gRPC status), raised out of this module's methods for the gateway to answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError

from server.audit import AUTH_FIELDS, GENESIS, entry_hash
from server.auth.access import api_key_revocation, session_revocation, user_revocation
from server.auth.passwords import DUMMY_HASH, hash_password, policy_problem, verify_password
from server.auth.tokens import LEEWAY_SECONDS, TokenIssuer
from server.errors import Refusal
from server.metrics.auth import AUTH_FAILURES, AUTH_LOCKOUTS, FAILURE_EVENTS
from server.shared import SharedState
from server.store import Store
from server.store.personal import email_columns, email_of
from server.store.schema import account_owners, api_keys, auth_log, refresh_tokens, users

USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}")
REFRESH_SECONDS = 14 * 24 * 3600
LOGIN_FAILURES = 5
"""Failed logins in a row (within LOGIN_WINDOW_SECONDS) that lock the user."""
LOGIN_WINDOW_SECONDS = 900
LOCK_FIRST_SECONDS = 60
LOCK_MAX_SECONDS = 3_600
LOCK_MEMORY_SECONDS = 86_400
"""How long earlier lockouts count towards a longer next one."""
SOURCE_LOGINS = 30
"""Login attempts per source address per minute."""
TRADER, ADMIN = 2, 5
LOG_LEVELS = {
    "login_failed": logging.INFO,
    "logout": logging.INFO,
    "api_key_revoked": logging.INFO,
    "login_locked": logging.WARNING,
    "login_disabled": logging.WARNING,
    "refresh_reused": logging.WARNING,
    "user_created": logging.INFO,
    "roles_changed": logging.INFO,
    "user_enabled": logging.INFO,
    "user_disabled": logging.WARNING,
}
"""Authentication events also logged (others at DEBUG): failures, the ends of
sessions and administrators' changes to users, never with a secret; a
lockout, a reused refresh token or a disabled user's sign-in may be an
attack, and a user disabled cuts someone off, hence WARNING. Nothing routine
reaches ERROR."""
_log = logging.getLogger(__name__)


class AuthRefusal(Exception):  # noqa: N818 - a refusal value, raised to the gateway
    def __init__(self, kind: Refusal, message: str, field: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field


def disabled_refusal() -> AuthRefusal:
    return AuthRefusal(Refusal.DISABLED, "this user is disabled by an administrator")


@dataclass(frozen=True)
class UserView:
    user_id: str
    username: str
    email: str
    roles: tuple[int, ...]
    account_ids: tuple[str, ...]
    create_time: int
    disabled: bool = False


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def _roles(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserDirectory:
    def __init__(
        self,
        store: Store,
        shared: SharedState,
        tokens: TokenIssuer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._shared = shared
        self.tokens = tokens
        self._clock = clock
        self._log_lock = asyncio.Lock()
        self.account_opened: Callable[[str, str, tuple[int, ...]], None] | None = None
        """Told (account, owner's user id, owner's roles) of each new account:
        the exchange gives it the limits of the owner's role."""

    async def record(
        self,
        event: str,
        user_id: str,
        username: str,
        source: str,
        detail: str = "",
        gateway: str = "grpc",
    ) -> None:
        """Append an authentication event to the hash-chained ``auth_log``."""
        if event in FAILURE_EVENTS:
            AUTH_FAILURES.labels(event).inc()
        _log.log(
            LOG_LEVELS.get(event, logging.DEBUG),
            "auth %s: user %r user_id %r from %r %s",
            event, username[:64], user_id, source[:64], detail[:64],
            extra={"auth_event": event, "user_id": user_id, "username": username[:64],
                   "source": source[:64]},
        )  # fmt: skip
        async with self._log_lock, self._store.engine.begin() as connection:
            last = (
                await connection.execute(
                    select(auth_log.c.entry_id, auth_log.c.hash)
                    .order_by(auth_log.c.entry_id.desc())
                    .limit(1)
                )
            ).first()
            entry: dict[str, Any] = {
                "entry_id": 1 if last is None else last.entry_id + 1,
                "time": time.time_ns(),
                "event": event,
                "user_id": user_id,
                "username": username,
                "source": source,
                "gateway": gateway,
                "detail": detail,
                "previous_hash": GENESIS if last is None else last.hash,
            }
            entry["hash"] = entry_hash(entry["previous_hash"], entry, AUTH_FIELDS)
            await connection.execute(auth_log.insert().values(**entry))

    # -- users ---------------------------------------------------------------

    async def register(
        self,
        username: str,
        email: str,
        password: str,
        roles: tuple[int, ...] = (TRADER,),
        source: str = "",
        gateway: str = "grpc",
    ) -> UserView:
        """A new user with their own trading account; ``source`` and
        ``gateway`` say where a self-registration came from, for the audit
        log (empty for a user made by an administrator or on the command line)."""
        if not USERNAME.fullmatch(username):
            raise AuthRefusal(Refusal.INVALID, "username must be 3-32 of a-z 0-9 _ . -", "username")
        if not EMAIL.fullmatch(email):
            raise AuthRefusal(Refusal.INVALID, "email is not an e-mail address", "email")
        problem = policy_problem(password, username)
        if problem is not None:
            raise AuthRefusal(Refusal.INVALID, problem, "password")
        user_id = secrets.token_hex(8)
        now = time.time_ns()
        try:
            async with self._store.engine.begin() as connection:
                await connection.execute(
                    users.insert().values(
                        user_id=user_id, username=username,
                        **email_columns(self._store.cipher, user_id, email),
                        password_hash=hash_password(password),
                        roles=",".join(str(role) for role in sorted(set(roles))),
                        create_time=now,
                    )
                )  # fmt: skip
                # Every user starts with one trading account named after them.
                await connection.execute(
                    account_owners.insert().values(account_id=username.upper(), user_id=user_id)
                )
        except IntegrityError:
            raise AuthRefusal(
                Refusal.EXISTS, "username, e-mail or account is already taken"
            ) from None
        found = await self.user(user_id)
        assert found is not None
        detail = ",".join(map(str, roles))
        await self.record("register", user_id, username, source, detail, gateway)
        if self.account_opened is not None:
            self.account_opened(username.upper(), user_id, found.roles)
        return found

    async def ensure_user(
        self, username: str, email: str, password: str, roles: tuple[int, ...]
    ) -> bool:
        """Create the user unless the name is taken; whether it was created."""
        async with self._store.engine.connect() as connection:
            taken = await connection.scalar(
                select(users.c.user_id).where(users.c.username == username)
            )
        if taken is not None:
            return False
        await self.register(username, email, password, roles)
        return True

    async def user(self, user_id: str) -> UserView | None:
        async with self._store.engine.connect() as connection:
            row = (
                await connection.execute(select(users).where(users.c.user_id == user_id))
            ).first()
            if row is None:
                return None
            accounts = await connection.scalars(
                select(account_owners.c.account_id)
                .where(account_owners.c.user_id == user_id)
                .order_by(account_owners.c.account_id)
            )
            return UserView(
                row.user_id, row.username,
                email_of(self._store.cipher, row.user_id, row.email_ciphertext),
                _roles(row.roles), tuple(accounts), row.create_time, bool(row.disable_time),
            )  # fmt: skip

    async def add_account(self, username: str, account_id: str) -> UserView:
        """Give ``username`` another trading account (an administrator's act)."""
        if not re.fullmatch(r"[A-Z0-9_.-]{1,64}", account_id):
            raise AuthRefusal(
                Refusal.INVALID, "account ids are 1-64 of A-Z 0-9 _ . -", "account_id"
            )
        async with self._store.engine.connect() as connection:
            user_id = await connection.scalar(
                select(users.c.user_id).where(users.c.username == username)
            )
        if user_id is None:
            raise AuthRefusal(Refusal.NOT_FOUND, f"no user {username!r}", "username")
        try:
            async with self._store.engine.begin() as connection:
                await connection.execute(
                    account_owners.insert().values(account_id=account_id, user_id=user_id)
                )
        except IntegrityError:
            raise AuthRefusal(
                Refusal.EXISTS, f"account {account_id} already has an owner"
            ) from None
        await self.record("account_added", str(user_id), username, "", account_id)
        found = await self.user(str(user_id))
        assert found is not None
        if self.account_opened is not None:
            self.account_opened(account_id, found.user_id, found.roles)
        return found

    async def all_accounts(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """Every owned account: (account id, owner's user id, owner's roles)."""
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(account_owners.c.account_id, users.c.user_id, users.c.roles)
                .join(users, users.c.user_id == account_owners.c.user_id)
                .order_by(account_owners.c.account_id)
            )
            return [(row.account_id, row.user_id, _roles(row.roles)) for row in rows]

    async def owner_of(self, account_id: str) -> str | None:
        async with self._store.engine.connect() as connection:
            owner = await connection.scalar(
                select(account_owners.c.user_id).where(account_owners.c.account_id == account_id)
            )
        return None if owner is None else str(owner)

    # -- sessions ------------------------------------------------------------

    async def login(
        self, username: str, password: str, source: str, gateway: str = "grpc"
    ) -> Session:
        row = await self._check_password(username, password, source, gateway)
        return await self._start_session(row, secrets.token_hex(8))

    async def verify_login(
        self, username: str, password: str, source: str, gateway: str
    ) -> tuple[str, tuple[str, ...]]:
        """A sign-in that issues no token (a FIX Logon): the user's id and accounts.

        The same checks, throttles, lockouts and audit entries as ``login``."""
        row = await self._check_password(username, password, source, gateway)
        return row.user_id, await self.accounts_of(row.user_id)

    async def _check_password(
        self, username: str, password: str, source: str, gateway: str
    ) -> Row[Any]:
        if await self._shared.hit(f"login-source:{source}", 60) > SOURCE_LOGINS:
            raise AuthRefusal(Refusal.THROTTLED, "too many login attempts from this address")
        async with self._store.engine.connect() as connection:
            row = (
                await connection.execute(select(users).where(users.c.username == username))
            ).first()
        if await self._shared.is_revoked(f"login-lock:{username}"):
            await self.record("login_locked", "", username, source, gateway=gateway)
            raise AuthRefusal(
                Refusal.THROTTLED, "too many failed logins: this user is locked for a while"
            )
        stored = row.password_hash if row is not None else DUMMY_HASH
        if not verify_password(stored, password) or row is None:
            await self._failed_login(username)
            await self.record(
                "login_failed", row.user_id if row else "", username, source, gateway=gateway
            )
            raise AuthRefusal(Refusal.UNAUTHENTICATED, "wrong username or password")
        if row.disable_time:
            await self.record("login_disabled", row.user_id, username, source, gateway=gateway)
            raise disabled_refusal()
        await self.record("login", row.user_id, username, source, gateway=gateway)
        return row

    async def _failed_login(self, username: str) -> None:
        """Count a failure; the LOGIN_FAILURES-th in a row locks the user, for a
        minute the first time and twice as long each time after (up to an hour)."""
        locks = await self._shared.count(f"login-locks:{username}", LOCK_MEMORY_SECONDS)
        failures = await self._shared.hit(
            f"login-failures:{username}:{locks}", LOGIN_WINDOW_SECONDS
        )
        if failures >= LOGIN_FAILURES:
            locks = await self._shared.hit(f"login-locks:{username}", LOCK_MEMORY_SECONDS)
            seconds = min(LOCK_FIRST_SECONDS * 2 ** (locks - 1), LOCK_MAX_SECONDS)
            await self._shared.revoke(f"login-lock:{username}", self._clock() + seconds)
            AUTH_LOCKOUTS.inc()

    async def accounts_of(self, user_id: str) -> tuple[str, ...]:
        async with self._store.engine.connect() as connection:
            found = await connection.scalars(
                select(account_owners.c.account_id)
                .where(account_owners.c.user_id == user_id)
                .order_by(account_owners.c.account_id)
            )
            return tuple(found)

    async def _start_session(self, row: Row[Any], family: str) -> Session:
        accounts = await self.accounts_of(row.user_id)
        token, _ = self.tokens.issue(
            row.user_id, _roles(row.roles), accounts=accounts, session=family
        )
        refresh = secrets.token_urlsafe(32)
        async with self._store.engine.begin() as connection:
            await connection.execute(
                refresh_tokens.insert().values(
                    token_hash=_digest(refresh), family_id=family, user_id=row.user_id,
                    expire_time=time.time_ns() + REFRESH_SECONDS * 10**9, used_time=0,
                    revoked=False,
                )
            )  # fmt: skip
        return Session(token, self.tokens.access_seconds, refresh, REFRESH_SECONDS)

    async def refresh(self, refresh_token: str) -> Session:
        now = time.time_ns()
        async with self._store.engine.begin() as connection:
            spent = (
                await connection.execute(
                    select(refresh_tokens).where(
                        refresh_tokens.c.token_hash == _digest(refresh_token)
                    )
                )
            ).first()
            if spent is None or spent.revoked or spent.expire_time < now:
                raise AuthRefusal(Refusal.UNAUTHENTICATED, "refresh token is not valid")
            # Refused before the token is spent: the session goes on once the
            # user is enabled again.
            if await connection.scalar(
                select(users.c.disable_time).where(users.c.user_id == spent.user_id)
            ):
                raise disabled_refusal()
            if spent.used_time:
                # A spent token presented again: it was stolen or leaked. End the family.
                await connection.execute(
                    update(refresh_tokens)
                    .where(refresh_tokens.c.family_id == spent.family_id)
                    .values(revoked=True)
                )
                reused = True
            else:
                await connection.execute(
                    update(refresh_tokens)
                    .where(refresh_tokens.c.token_hash == spent.token_hash)
                    .values(used_time=now)
                )
                reused = False
            row = (
                await connection.execute(select(users).where(users.c.user_id == spent.user_id))
            ).first()
        if reused:
            await self._revoke_issued(session_revocation(spent.family_id))
            await self.record("refresh_reused", spent.user_id, "", "", spent.family_id)
            raise AuthRefusal(
                Refusal.UNAUTHENTICATED, "refresh token reused: every session token of it revoked"
            )
        assert row is not None
        return await self._start_session(row, spent.family_id)

    async def revoke_access(self, token_id: str, expires: int) -> None:
        """Refuse an access token from now until it would have expired anyway."""
        await self._shared.revoke(token_id, expires)

    async def suspend_tokens(self, user_id: str) -> None:
        """Refuse every access token issued to the user so far (and end their
        streams): for as long as the newest of them can live, since a disabled
        user is issued no more."""
        await self._revoke_issued(user_revocation(user_id))

    async def resume_tokens(self, user_id: str) -> None:
        """Accept the user's unexpired access tokens again (an enabled user)."""
        await self._shared.reinstate(user_revocation(user_id))

    async def _revoke_issued(self, revocation_id: str) -> None:
        """Refuse every access token already issued under ``revocation_id`` (a
        session or an API key): for as long as the newest of them can live."""
        until = self._clock() + self.tokens.access_seconds + LEEWAY_SECONDS
        await self._shared.revoke(revocation_id, until)

    async def logout(self, refresh_token: str, source: str = "") -> None:
        async with self._store.engine.begin() as connection:
            spent = (
                await connection.execute(
                    select(refresh_tokens.c.family_id).where(
                        refresh_tokens.c.token_hash == _digest(refresh_token)
                    )
                )
            ).first()
            if spent is None:
                raise AuthRefusal(Refusal.UNAUTHENTICATED, "refresh token is not valid")
            await connection.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.family_id == spent.family_id)
                .values(revoked=True)
            )
        await self._revoke_issued(session_revocation(spent.family_id))
        await self.record("logout", "", "", source, spent.family_id)

    # -- API keys ------------------------------------------------------------

    async def create_api_key(
        self, user_id: str, label: str, roles: tuple[int, ...], expire_time: int
    ) -> tuple[Row[Any], str]:
        """A new key with at most the user's roles; its secret is returned once."""
        owner = await self.user(user_id)
        if owner is None:
            raise AuthRefusal(Refusal.NOT_FOUND, "no such user")
        wanted = tuple(sorted(set(roles))) or owner.roles
        if not set(wanted) <= set(owner.roles):
            raise AuthRefusal(Refusal.FORBIDDEN, "a key cannot have roles its owner lacks", "roles")
        if len(label) > 128:
            raise AuthRefusal(Refusal.INVALID, "label must be at most 128 characters", "label")
        now = time.time_ns()
        if expire_time and expire_time <= now:
            raise AuthRefusal(Refusal.INVALID, "expire_time must be in the future", "expire_time")
        key_id = "ak_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        async with self._store.engine.begin() as connection:
            await connection.execute(
                api_keys.insert().values(
                    key_id=key_id, user_id=user_id, label=label,
                    roles=",".join(str(role) for role in wanted), secret_hash=_digest(secret),
                    create_time=now, expire_time=expire_time, last_use_time=0, revoke_time=0,
                )
            )  # fmt: skip
        await self.record("api_key_created", user_id, owner.username, "", key_id)
        return await self._key(key_id), secret

    async def _key(self, key_id: str) -> Row[Any]:
        async with self._store.engine.connect() as connection:
            row = (
                await connection.execute(select(api_keys).where(api_keys.c.key_id == key_id))
            ).first()
        if row is None:
            raise AuthRefusal(Refusal.NOT_FOUND, f"no API key {key_id!r}", "key_id")
        return row

    async def api_keys_page(self, user_id: str, before: int, limit: int) -> list[Row[Any]]:
        """The user's keys created before ``before`` (0: any), newest first."""
        query = select(api_keys).where(api_keys.c.user_id == user_id)
        if before:
            query = query.where(api_keys.c.create_time < before)
        async with self._store.engine.connect() as connection:
            result = await connection.execute(
                query.order_by(api_keys.c.create_time.desc()).limit(limit)
            )
            return list(result.all())

    async def revoke_api_key(self, user_id: str, key_id: str) -> Row[Any]:
        key = await self._key(key_id)
        if key.user_id != user_id:
            raise AuthRefusal(Refusal.NOT_FOUND, f"no API key {key_id!r}", "key_id")
        if not key.revoke_time:
            async with self._store.engine.begin() as connection:
                await connection.execute(
                    update(api_keys)
                    .where(api_keys.c.key_id == key_id)
                    .values(revoke_time=time.time_ns())
                )
            await self._revoke_issued(api_key_revocation(key_id))
            await self.record("api_key_revoked", user_id, "", "", key_id)
        return await self._key(key_id)

    async def exchange_api_key(
        self, key_id: str, secret: str, source: str, gateway: str = "grpc"
    ) -> tuple[str, int]:
        """An access token with the key's roles (client credentials)."""
        if await self._shared.hit(f"login-source:{source}", 60) > SOURCE_LOGINS:
            raise AuthRefusal(Refusal.THROTTLED, "too many login attempts from this address")
        refused = AuthRefusal(Refusal.UNAUTHENTICATED, "unknown, revoked or expired API key")
        try:
            key = await self._key(key_id)
        except AuthRefusal:
            raise refused from None
        now = time.time_ns()
        valid = secrets.compare_digest(key.secret_hash, _digest(secret))
        if not valid or key.revoke_time or (key.expire_time and key.expire_time <= now):
            _log.info("auth api_key_refused: key %r from %r", key_id[:64], source[:64],
                      extra={"auth_event": "api_key_refused", "key_id": key_id[:64],
                             "source": source[:64]})  # fmt: skip
            raise refused
        owner = await self.user(key.user_id)
        if owner is None:
            raise refused
        if owner.disabled:
            raise disabled_refusal()
        # The key's roles that its owner still holds: an administrator may
        # have taken some away since the key was made.
        roles = tuple(role for role in _roles(key.roles) if role in owner.roles)
        if not roles:
            raise AuthRefusal(Refusal.FORBIDDEN, "the key's owner no longer holds any of its roles")
        async with self._store.engine.begin() as connection:
            await connection.execute(
                update(api_keys).where(api_keys.c.key_id == key_id).values(last_use_time=now)
            )
        token, _ = self.tokens.issue(key.user_id, roles, api_key=key_id, accounts=owner.account_ids)
        await self.record("api_key_exchanged", key.user_id, "", source, key_id, gateway)
        return token, self.tokens.access_seconds
