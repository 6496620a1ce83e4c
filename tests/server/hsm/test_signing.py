"""Token-signing keys in a PKCS#11 token, against a real SoftHSM2 token."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, ObjectClass

from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS, TokenError, TokenIssuer
from server.hsm.signing import HsmPrivateKey, Pkcs11KeyRing
from server.hsm.token import HsmError, TokenSettings

LIFETIME = ACCESS_SECONDS + LEEWAY_SECONDS


def _verified_with_jwks(token: str, jwks: list[dict[str, str]]) -> dict[str, Any]:
    """What any relying party does: PyJWT, the public JWK Set, ES256 only."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_json(json.dumps({"keys": jwks}))[kid]
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["ES256"], audience="stx-api", issuer="stx"
    )
    return claims


def _key_objects(ring: Pkcs11KeyRing) -> dict[str, int]:
    return {
        kind.name: len(list(ring.session.get_objects({Attribute.CLASS: kind})))
        for kind in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY)
    }


def test_tokens_signed_in_the_token_verify_against_the_jwks(
    softhsm_token: TokenSettings,
) -> None:
    ring = Pkcs11KeyRing(softhsm_token, LIFETIME)
    try:
        issuer = TokenIssuer(ring, "stx", "stx-api")
        token, claims = issuer.issue("user-1", (2,), accounts=("ACC",), session="s1")
        assert _verified_with_jwks(token, ring.jwks())["sub"] == "user-1"
        assert issuer.verify(token) == claims
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        with pytest.raises(TokenError):
            issuer.verify(tampered)
    finally:
        ring.close()


def test_the_private_key_never_leaves_the_token(softhsm_token: TokenSettings) -> None:
    ring = Pkcs11KeyRing(softhsm_token, LIFETIME)
    try:
        private = ring.signing.private
        assert isinstance(private, HsmPrivateKey)
        handle = private.handle
        assert handle[Attribute.SENSITIVE] is True
        assert handle[Attribute.EXTRACTABLE] is False
        assert handle[Attribute.NEVER_EXTRACTABLE] is True
        assert handle[Attribute.LOCAL] is True  # generated inside the token
        with pytest.raises(pkcs11.AttributeSensitive):
            handle[Attribute.VALUE]
        with pytest.raises(TypeError, match="never leaves the token"):
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        with pytest.raises(TypeError):
            private.private_numbers()
    finally:
        ring.close()


def test_rotation_retires_old_keys_and_a_restart_finds_them_in_the_token(
    softhsm_token: TokenSettings,
) -> None:
    ring = Pkcs11KeyRing(softhsm_token, LIFETIME)
    now = time.time()
    issuer = TokenIssuer(ring, "stx", "stx-api", clock=lambda: now)
    first_kid = ring.signing.kid
    old_token, _ = issuer.issue("user-1", (2,))
    assert not ring.rotate_if_due(7 * 86_400, now=now)
    ring.rotate(now)
    second_kid = ring.signing.kid
    assert second_kid != first_kid
    new_token, _ = issuer.issue("user-2", (2,))
    assert jwt.get_unverified_header(new_token)["kid"] == second_kid
    assert [key["kid"] for key in ring.jwks(now)] == [first_kid, second_kid]
    ring.close()

    # A restart: the keys and their state come back from the token alone.
    again = Pkcs11KeyRing(softhsm_token, LIFETIME)
    try:
        assert [key.kid for key in again.keys] == [first_kid, second_kid]
        assert again.signing.kid == second_kid
        restarted = TokenIssuer(again, "stx", "stx-api", clock=lambda: now)
        assert restarted.verify(old_token).subject == "user-1"
        assert _verified_with_jwks(new_token, again.jwks(now))["sub"] == "user-2"
        assert _key_objects(again) == {"PRIVATE_KEY": 2, "PUBLIC_KEY": 2}

        # Past the longest token lifetime the first key verifies nothing, and
        # the next rotation destroys it in the token.
        later = now + LIFETIME + 1
        assert again.verifying(first_kid, later) is None
        again.rotate(later)
        assert [key.kid for key in again.keys][:1] == [second_kid]
        assert _key_objects(again) == {"PRIVATE_KEY": 2, "PUBLIC_KEY": 2}
    finally:
        again.close()


def test_a_wrong_pin_or_token_is_a_clear_error(softhsm_token: TokenSettings) -> None:
    wrong_pin = TokenSettings(softhsm_token.module, softhsm_token.label, "not-the-pin")
    with pytest.raises(HsmError, match=r"PIN .* is wrong") as raised:
        Pkcs11KeyRing(wrong_pin, LIFETIME)
    assert "not-the-pin" not in str(raised.value)
    assert "not-the-pin" not in repr(wrong_pin)
    with pytest.raises(HsmError, match="no token labelled"):
        Pkcs11KeyRing(TokenSettings(softhsm_token.module, "no-such-token", "1"), LIFETIME)
    with pytest.raises(HsmError, match="cannot load"):
        Pkcs11KeyRing(TokenSettings("/nonexistent/libpkcs11.so", "x", "1"), LIFETIME)
