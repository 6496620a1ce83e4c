"""Single sign-on: access tokens of an external OpenID Connect issuer.

An identity provider (Keycloak, Entra ID, Okta, ...) is configured by its
issuer, the URL of its JWK Set and the audience its tokens carry for this
exchange. Its tokens are validated like ours (RFC 8725: an algorithm
allow-list, required claims, issuer, audience, bounded skew), with keys
fetched from the JWK Set and cached (fetched again, off the event loop, for
a key id not seen yet). The provider's role claim is mapped to the
exchange's roles by name, and its accounts claim, if any, to the trading
accounts the user may use.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from server.auth.access import ROLES_BY_NAME
from server.auth.tokens import LEEWAY_SECONDS, Claims, TokenError

ALGORITHMS = ("RS256", "ES256")
REFETCH_SECONDS = 60
"""An unknown key id fetches the JWK Set again at most this often."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    jwks_url: str
    audience: str
    roles_claim: str = "roles"
    accounts_claim: str = "stx_accounts"


class OidcVerifier:
    def __init__(self, settings: OidcSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0

    def _fetch(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.settings.jwks_url, timeout=5) as answer:
            document = json.loads(answer.read())
        keys: dict[str, Any] = {}
        for entry in document.get("keys", []):
            if entry.get("use", "sig") == "sig" and "kid" in entry:
                keys[entry["kid"]] = jwt.PyJWK(entry).key
        return keys

    async def _key(self, kid: str) -> Any:
        if kid not in self._keys and self._clock() - self._fetched >= REFETCH_SECONDS:
            self._fetched = self._clock()
            try:
                self._keys = await asyncio.to_thread(self._fetch)
            except (OSError, ValueError, jwt.PyJWTError) as error:
                raise TokenError(f"cannot fetch the identity provider's keys: {error}") from None
        key = self._keys.get(kid)
        if key is None:
            raise TokenError(f"the identity provider has no key {kid!r}")
        return key

    async def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenError(f"algorithm {header.get('alg')!r} is not accepted")
        key = await self._key(str(header.get("kid", "")))
        settings = self.settings
        try:
            payload = jwt.decode(
                token, key, algorithms=list(ALGORITHMS), audience=settings.audience,
                issuer=settings.issuer, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )  # fmt: skip
        except jwt.PyJWTError as error:
            raise TokenError(str(error)) from None
        names = payload.get(settings.roles_claim, [])
        if isinstance(names, str):
            names = names.split()
        roles = tuple(ROLES_BY_NAME[name] for name in names if name in ROLES_BY_NAME)
        accounts = payload.get(settings.accounts_claim, [])
        if not isinstance(accounts, list):
            accounts = []
        return Claims(
            f"oidc:{payload['sub']}",
            roles,
            str(payload.get("jti") or f"{payload['sub']}:{payload['iat']}"),
            int(payload["exp"]),
            "",
            tuple(str(account) for account in accounts),
        )


def issuer_of(token: str) -> str | None:
    """The ``iss`` claim, read without verifying anything (for routing only)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None
