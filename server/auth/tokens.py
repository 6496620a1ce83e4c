"""Access tokens: JWTs signed with ES256, validated as RFC 8725 asks.

Validation accepts exactly one algorithm (ES256, never ``none`` nor an HMAC
that a public key could be abused as), requires ``exp``, ``nbf``, ``iat``,
``iss``, ``aud`` and ``sub``, checks the issuer and the audience, bounds the
clock skew, and takes the verification key only from our key ring by the
token's ``kid``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from server.auth.keys import KeyRing

ALGORITHM = "ES256"
LEEWAY_SECONDS = 30
ACCESS_SECONDS = 900


class TokenError(Exception):
    """A token that must not be accepted; the message says why (for logs)."""


@dataclass(frozen=True)
class Claims:
    subject: str
    """The user id."""
    roles: tuple[int, ...]
    """Role numbers of the contract."""
    token_id: str
    expires: int
    api_key: str = ""
    """The API key the token was issued for, if any."""
    accounts: tuple[str, ...] = ()
    """The trading accounts the user owned when the token was issued."""
    session: str = ""
    """The sign-in session (refresh-token family), claim ``sid``: logging out
    or a reused refresh token revokes every access token of the session."""


class TokenIssuer:
    def __init__(
        self,
        keys: KeyRing,
        issuer: str,
        audience: str,
        access_seconds: int = ACCESS_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.access_seconds = access_seconds

    def issue(
        self,
        subject: str,
        roles: tuple[int, ...],
        api_key: str = "",
        accounts: tuple[str, ...] = (),
        lifetime: int | None = None,
        session: str = "",
    ) -> tuple[str, Claims]:
        moment = int(self.clock())
        token_id = secrets.token_urlsafe(16)
        seconds = self.access_seconds if lifetime is None else lifetime
        claims = Claims(subject, roles, token_id, moment + seconds, api_key, accounts, session)
        payload: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": moment,
            "nbf": moment,
            "exp": claims.expires,
            "jti": token_id,
            "roles": list(roles),
            "accounts": list(accounts),
        }
        if api_key:
            payload["api_key"] = api_key
        if session:
            payload["sid"] = session
        key = self.keys.signing
        token = jwt.encode(payload, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})
        return token, claims

    def verify(self, token: str) -> Claims:
        now = self.clock()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        if header.get("alg") != ALGORITHM:
            raise TokenError(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        key = self.keys.verifying(kid, now) if isinstance(kid, str) else None
        if key is None:
            raise TokenError(f"unknown or retired key id {kid!r}")
        try:
            # The times are checked below, against the injected clock.
            payload = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise TokenError(str(error)) from None
        expires, not_before, issued = payload["exp"], payload["nbf"], payload["iat"]
        if not all(isinstance(value, int) for value in (expires, not_before, issued)):
            raise TokenError("exp, nbf and iat must be integers")
        if now < issued - LEEWAY_SECONDS:
            raise TokenError("token issued in the future")
        if now > expires + LEEWAY_SECONDS:
            raise TokenError("token expired")
        if now < not_before - LEEWAY_SECONDS:
            raise TokenError("token not valid yet")
        roles = payload.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, int) for role in roles):
            raise TokenError("roles claim is not a list of role numbers")
        accounts = payload.get("accounts", [])
        if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            raise TokenError("accounts claim is not a list of account ids")
        return Claims(
            str(payload["sub"]),
            tuple(roles),
            str(payload["jti"]),
            expires,
            str(payload.get("api_key", "")),
            tuple(accounts),
            str(payload.get("sid", "")),
        )
