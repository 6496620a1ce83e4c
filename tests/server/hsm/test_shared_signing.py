"""Two servers on one PKCS#11 token follow each other's keys (SoftHSM2)."""

from __future__ import annotations

from pathlib import Path

import jwt

from server.auth.keys import FOLLOW_SECONDS
from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS, TokenIssuer
from server.hsm.signing import Pkcs11KeyRing
from server.hsm.token import TokenSettings

LIFETIME = ACCESS_SECONDS + LEEWAY_SECONDS
WEEK = 7 * 24 * 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_rotation_in_the_token_is_followed_and_happens_once(
    softhsm_token: TokenSettings, tmp_path: Path
) -> None:
    clock = Clock()
    lock = tmp_path / "keys.lock"
    first = Pkcs11KeyRing(softhsm_token, LIFETIME, lock_file=lock, clock=clock)
    second = Pkcs11KeyRing(softhsm_token, LIFETIME, lock_file=lock, clock=clock)
    try:
        assert first.signing.kid == second.signing.kid  # the second adopted the key
        created = first.signing.created
        now = created + WEEK
        issuing = TokenIssuer(first, "stx", "stx-api", clock=lambda: now)
        checking = TokenIssuer(second, "stx", "stx-api", clock=lambda: now)
        old, _ = checking.issue("user-1", (2,))
        assert first.rotate_if_due(WEEK, now=now)
        assert not second.rotate_if_due(WEEK, now=now)  # read the first one's rotation
        new, _ = issuing.issue("user-2", (2,))
        assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
        assert issuing.verify(old).subject == "user-1"
        assert checking.verify(new).subject == "user-2"
        clock.now += FOLLOW_SECONDS
        assert second.signing.kid == first.signing.kid
        assert len(second.jwks(now)) == 2
    finally:
        first.close()
        second.close()


def test_a_stale_server_rotating_keeps_the_others_key(
    softhsm_token: TokenSettings, tmp_path: Path
) -> None:
    clock = Clock()
    lock = tmp_path / "keys.lock"
    first = Pkcs11KeyRing(softhsm_token, LIFETIME, lock_file=lock, clock=clock)
    second = Pkcs11KeyRing(softhsm_token, LIFETIME, lock_file=lock, clock=clock)
    try:
        made_by_first = first.rotate().kid
        made_by_second = second.rotate().kid
        assert second.verifying(made_by_first) is not None
        clock.now += FOLLOW_SECONDS
        assert first.verifying(made_by_second) is not None
        assert first.signing.kid == made_by_second
    finally:
        first.close()
        second.close()
