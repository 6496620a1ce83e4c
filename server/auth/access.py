"""The access rule of every RPC, read from the contract, and the principal.

Each RPC of ``stocktraderx.v1`` declares who may call it (the ``access``
method option in options.proto); ``ACCESS`` maps every gRPC method path to
its rule, so the interceptor enforces the contract and nothing else. The
gRPC health and reflection services are infrastructure and public.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from google.protobuf.descriptor import FileDescriptor
from stocktraderx.v1 import (
    admin_pb2,
    analytics_pb2,
    market_data_pb2,
    options_pb2,
    orders_pb2,
    reference_data_pb2,
    risk_pb2,
    users_pb2,
)

ROLES_BY_NAME = {
    name.removeprefix("ROLE_").lower(): number
    for name, number in options_pb2.Role.items()
    if number
}
"""viewer, trader, market_maker, risk_officer, admin -> the contract's numbers."""
RISK_OFFICER = options_pb2.ROLE_RISK_OFFICER
ADMIN = options_pb2.ROLE_ADMIN
PRIVILEGED = frozenset((RISK_OFFICER, ADMIN))
"""Roles that act on every user and account, not only their own."""
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


@dataclass(frozen=True)
class Rule:
    public: bool
    roles: frozenset[int]

    def admits(self, roles: tuple[int, ...]) -> bool:
        return self.public or not self.roles.isdisjoint(roles)


def _rules(*files: FileDescriptor) -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                option = method.GetOptions().Extensions[options_pb2.access]
                table[f"/{service.full_name}/{method.name}"] = Rule(
                    option.public, frozenset(int(role) for role in option.roles)
                )
    return table


ACCESS = _rules(
    orders_pb2.DESCRIPTOR,
    market_data_pb2.DESCRIPTOR,
    reference_data_pb2.DESCRIPTOR,
    users_pb2.DESCRIPTOR,
    risk_pb2.DESCRIPTOR,
    analytics_pb2.DESCRIPTOR,
    admin_pb2.DESCRIPTOR,
)
NOBODY = Rule(False, frozenset())


def rule_for(method: str) -> Rule:
    """The rule of a gRPC method path; unknown methods admit nobody (fail closed)."""
    if method.startswith(PUBLIC_PREFIXES):
        return Rule(True, frozenset())
    return ACCESS.get(method, NOBODY)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of the current RPC."""

    user_id: str
    roles: tuple[int, ...]
    accounts: frozenset[str]
    token_id: str
    expires: int
    api_key: str = ""
    session: str = ""
    """The sign-in session (refresh-token family) the token was issued in."""

    @property
    def revocation_ids(self) -> tuple[str, ...]:
        """Every id in the revocation set that ends this principal's token."""
        ids = [self.token_id]
        if self.user_id:
            ids.append(user_revocation(self.user_id))
        if self.session:
            ids.append(session_revocation(self.session))
        if self.api_key:
            ids.append(api_key_revocation(self.api_key))
        return tuple(ids)

    @property
    def privileged(self) -> bool:
        return not PRIVILEGED.isdisjoint(self.roles)

    def may_use(self, account: str) -> bool:
        return self.privileged or account in self.accounts


def session_revocation(session: str) -> str:
    """The revocation-set id that ends every access token of a session."""
    return f"session:{session}"


def user_revocation(user_id: str) -> str:
    """The revocation-set id that ends every access token of a user (disabled)."""
    return f"user:{user_id}"


def api_key_revocation(key_id: str) -> str:
    """The revocation-set id that ends every access token of an API key."""
    return f"api-key:{key_id}"


ANONYMOUS = Principal("", (), frozenset(), "", 0)
_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)


def current_principal() -> Principal | None:
    """The caller of the RPC being served; None when authentication is off."""
    return _current.get()


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    """Bind the caller for the rest of the current task (grpc.aio serves each
    call in a task of its own, whose context ends with it)."""
    return _current.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)
