"""What administrators do to users and read of the audit logs, in the store.

Every change is recorded in the hash-chained ``auth_log`` with the
administrator who made it ("by <user id>" in its detail) and where from, as
the directory records the users' own sign-ins.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, select, update

from server.audit import AUDIT_FIELDS, AUTH_FIELDS, Chain
from server.auth.access import ADMIN, ROLES_BY_NAME
from server.auth.directory import USERNAME, AuthRefusal, UserDirectory, UserView
from server.errors import Refusal
from server.store import Store
from server.store.personal import email_of
from server.store.schema import account_owners, audit_log, auth_log, users

ACCOUNT_ID = re.compile(r"[A-Z0-9_.-]{1,64}")
USERNAME_AFTER = USERNAME
"""A page token of the user list: the last username of the page before."""
VERIFY_CHUNK = 2_000
"""Entries read per query while verifying: a long log is never held whole,
and the event loop serves other calls between two reads."""
_ROLES = frozenset(ROLES_BY_NAME.values())


@dataclass(frozen=True)
class Log:
    table: Table
    key: str
    fields: tuple[str, ...]


COMMANDS = Log(audit_log, "sequence", AUDIT_FIELDS)
AUTH = Log(auth_log, "entry_id", AUTH_FIELDS)


@dataclass(frozen=True)
class Actor:
    """The administrator acting, and where from (for the auth log)."""

    user_id: str
    source: str
    gateway: str


def _valid_roles(roles: tuple[int, ...]) -> tuple[int, ...]:
    wanted = tuple(sorted(set(roles)))
    if not wanted:
        raise AuthRefusal(Refusal.INVALID, "give the user at least one role", "roles")
    if not set(wanted) <= _ROLES:
        raise AuthRefusal(Refusal.INVALID, "roles must be roles of the contract", "roles")
    return wanted


class Administration:
    def __init__(self, directory: UserDirectory, store: Store) -> None:
        self._directory = directory
        self._store = store

    async def _record(self, event: str, user: UserView, actor: Actor, detail: str) -> None:
        await self._directory.record(
            event, user.user_id, user.username, actor.source,
            f"by {actor.user_id}: {detail}"[:1000], actor.gateway,
        )  # fmt: skip

    async def _user(self, user_id: str) -> UserView:
        if not user_id:
            raise AuthRefusal(Refusal.INVALID, "user_id is required", "user_id")
        found = await self._directory.user(user_id)
        if found is None:
            raise AuthRefusal(Refusal.NOT_FOUND, f"no user {user_id!r}", "user_id")
        return found

    # -- users ---------------------------------------------------------------

    async def users_page(self, after: str, limit: int) -> list[UserView]:
        """Users by username, from the one after ``after`` ("" for the first)."""
        async with self._store.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(users)
                    .where(users.c.username > after)
                    .order_by(users.c.username)
                    .limit(limit)
                )
            ).all()
            owned = await connection.execute(
                select(account_owners)
                .where(account_owners.c.user_id.in_([row.user_id for row in rows]))
                .order_by(account_owners.c.account_id)
            )
            accounts: dict[str, list[str]] = {}
            for owner in owned:
                accounts.setdefault(owner.user_id, []).append(owner.account_id)
        cipher = self._store.cipher
        return [
            UserView(
                row.user_id,
                row.username,
                email_of(cipher, row.user_id, row.email_ciphertext),
                tuple(int(part) for part in row.roles.split(",") if part),
                tuple(accounts.get(row.user_id, ())),
                row.create_time,
                bool(row.disable_time),
            )
            for row in rows
        ]

    async def create_user(
        self,
        actor: Actor,
        username: str,
        email: str,
        password: str,
        roles: tuple[int, ...],
        account_ids: tuple[str, ...],
    ) -> UserView:
        wanted = _valid_roles(roles)
        extra = tuple(dict.fromkeys(account_ids))
        for account in extra:
            if not ACCOUNT_ID.fullmatch(account):
                raise AuthRefusal(
                    Refusal.INVALID, "account ids are 1-64 of A-Z 0-9 _ . -", "account_ids"
                )
        async with self._store.engine.connect() as connection:
            taken = await connection.scalars(
                select(account_owners.c.account_id).where(account_owners.c.account_id.in_(extra))
            )
            owned = sorted(taken)
        if owned:
            raise AuthRefusal(Refusal.EXISTS, f"account {owned[0]} already has an owner")
        user = await self._directory.register(username, email, password, wanted)
        for account in extra:
            if account != username.upper():
                user = await self._directory.add_account(username, account)
        await self._record(
            "user_created", user, actor,
            f"roles {','.join(map(str, wanted))}; accounts {','.join(user.account_ids)}",
        )  # fmt: skip
        return user

    async def set_roles(self, actor: Actor, user_id: str, roles: tuple[int, ...]) -> UserView:
        user = await self._user(user_id)
        wanted = _valid_roles(roles)
        if user_id == actor.user_id and ADMIN not in wanted:
            raise AuthRefusal(
                Refusal.SELF_LOCKOUT, "you may not remove your own admin role", "roles"
            )
        async with self._store.engine.begin() as connection:
            await connection.execute(
                update(users)
                .where(users.c.user_id == user_id)
                .values(roles=",".join(map(str, wanted)))
            )
        await self._record(
            "roles_changed", user, actor,
            f"roles {','.join(map(str, user.roles))} -> {','.join(map(str, wanted))}",
        )  # fmt: skip
        return await self._user(user_id)

    async def set_disabled(
        self, actor: Actor, user_id: str, disabled: bool, reason: str
    ) -> UserView:
        user = await self._user(user_id)
        if not reason:
            raise AuthRefusal(Refusal.INVALID, "reason is required", "reason")
        if disabled and user_id == actor.user_id:
            raise AuthRefusal(Refusal.SELF_LOCKOUT, "you may not disable yourself", "user_id")
        if user.disabled == disabled:
            return user
        async with self._store.engine.begin() as connection:
            await connection.execute(
                update(users)
                .where(users.c.user_id == user_id)
                .values(disable_time=time.time_ns() if disabled else 0)
            )
        if disabled:
            await self._directory.suspend_tokens(user_id)
        else:
            await self._directory.resume_tokens(user_id)
        await self._record("user_disabled" if disabled else "user_enabled", user, actor, reason)
        return await self._user(user_id)

    async def owners(self) -> dict[str, tuple[str, str]]:
        """Every owned account: its owner's (user id, username)."""
        async with self._store.engine.connect() as connection:
            rows = await connection.execute(
                select(account_owners.c.account_id, users.c.user_id, users.c.username).join(
                    users, users.c.user_id == account_owners.c.user_id
                )
            )
            return {row.account_id: (row.user_id, row.username) for row in rows}

    # -- audit logs ----------------------------------------------------------

    async def entries(self, log: Log, before: int, limit: int) -> list[Row[Any]]:
        """Entries numbered below ``before`` (0: any), newest first."""
        key = log.table.c[log.key]
        query = select(log.table).order_by(key.desc()).limit(limit)
        if before:
            query = query.where(key < before)
        async with self._store.engine.connect() as connection:
            return list((await connection.execute(query)).all())

    async def verify(self, log: Log) -> tuple[int, str | None]:
        """Entries checked and the first problem, as ``stx audit verify``."""
        chain = Chain(log.fields, log.key)
        key = log.table.c[log.key]
        last: int | None = None
        while True:
            query = select(log.table).order_by(key).limit(VERIFY_CHUNK)
            if last is not None:
                query = query.where(key > last)
            async with self._store.engine.connect() as connection:
                rows = (await connection.execute(query)).all()
            for row in rows:
                if not chain.add(dict(row._mapping)):
                    return chain.checked, chain.problem
            if len(rows) < VERIFY_CHUNK:
                return chain.checked, None
            last = rows[-1]._mapping[log.key]
