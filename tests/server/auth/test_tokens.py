"""Access tokens: what is accepted, and every way one must be refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from server.auth.keys import KeyRing
from server.auth.passwords import hash_password, policy_problem, verify_password
from server.auth.tokens import TokenError, TokenIssuer


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _issuer(tmp_path: Path, clock: Clock, audience: str = "stx") -> TokenIssuer:
    return TokenIssuer(KeyRing(tmp_path / "keys", 900), "https://stx.test", audience, 900, clock)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_round_trips_and_expires(tmp_path: Path) -> None:
    clock = Clock()
    issuer = _issuer(tmp_path, clock)
    token, claims = issuer.issue("user-1", (2, 3))
    verified = issuer.verify(token)
    assert (verified.subject, verified.roles, verified.token_id) == (
        "user-1",
        (2, 3),
        claims.token_id,
    )
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    clock.now += 900 + 29  # within the allowed skew
    issuer.verify(token)
    clock.now += 2
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(token)
    clock.now -= 2_000  # issued in the future, beyond the skew
    with pytest.raises(TokenError, match=r"future|not valid yet"):
        issuer.verify(token)


def test_tampered_foreign_and_unsigned_tokens_are_refused(tmp_path: Path) -> None:
    clock = Clock()
    issuer = _issuer(tmp_path, clock)
    token, _ = issuer.issue("user-1", (2,))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = [5]  # promote oneself to admin
    with pytest.raises(TokenError):
        issuer.verify(f"{header}.{_b64(claims)}.{signature}")
    none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    with pytest.raises(TokenError, match="not accepted"):
        issuer.verify(none)
    # Algorithm confusion: an HMAC keyed with our public key.
    public = issuer.keys.signing.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signed = f"{_b64({'alg': 'HS256', 'kid': issuer.keys.signing.kid})}.{_b64(claims)}"
    mac = hmac.new(public, signed.encode(), hashlib.sha256).digest()
    forged = f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(TokenError, match="not accepted"):
        issuer.verify(forged)
    stranger = _issuer(tmp_path / "other", clock)
    with pytest.raises(TokenError, match="key id"):
        issuer.verify(stranger.issue("user-1", (2,))[0])
    with pytest.raises(TokenError, match="malformed"):
        issuer.verify("not.a.token")


def test_wrong_audience_or_issuer_is_refused(tmp_path: Path) -> None:
    clock = Clock()
    issuer = _issuer(tmp_path, clock)
    other_audience = TokenIssuer(issuer.keys, issuer.issuer, "elsewhere", 900, clock)
    with pytest.raises(TokenError, match=r"(?i)audience"):
        issuer.verify(other_audience.issue("u", (2,))[0])
    other_issuer = TokenIssuer(issuer.keys, "https://evil.test", issuer.audience, 900, clock)
    with pytest.raises(TokenError, match=r"(?i)issuer"):
        issuer.verify(other_issuer.issue("u", (2,))[0])


def test_rotation_keeps_old_tokens_valid_until_they_expire(tmp_path: Path) -> None:
    clock = Clock()
    issuer = _issuer(tmp_path, clock)
    old_token, _ = issuer.issue("u", (2,))
    old_kid = issuer.keys.signing.kid
    issuer.keys.rotate(clock.now)
    new_token, _ = issuer.issue("u", (2,))
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    assert {key["kid"] for key in issuer.keys.jwks(clock.now)} >= {old_kid}
    issuer.verify(old_token)
    issuer.verify(new_token)
    # A restart loads the same keys.
    reloaded = TokenIssuer(
        KeyRing(tmp_path / "keys", 900), issuer.issuer, issuer.audience, 900, clock
    )
    reloaded.verify(old_token)
    clock.now += 901 + 30
    assert old_kid not in {key["kid"] for key in issuer.keys.jwks(clock.now)}
    with pytest.raises(TokenError):
        issuer.verify(old_token)
    assert (tmp_path / "keys" / f"{issuer.keys.signing.kid}.pem").stat().st_mode & 0o777 == 0o600


def test_passwords_are_argon2id_and_the_policy_explains_itself() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterY")
    assert not verify_password("garbage", "x")
    assert policy_problem("short", "alice") == "password must have at least 12 characters"
    assert policy_problem("aaaaaaaaaaaaaaaa", "alice") is not None
    assert policy_problem("my-alice-password", "alice") == "password must not contain the username"
    assert policy_problem("correct horse battery", "alice") is None


def test_keys_rotate_when_due(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys", 900)
    first = ring.signing.kid
    created = ring.signing.created
    assert not ring.rotate_if_due(3_600, now=created + 3_599)
    assert ring.rotate_if_due(3_600, now=created + 3_600)
    assert ring.signing.kid != first
    assert ring.verifying(first, now=created + 3_600 + 900) is not None  # until its tokens expire
