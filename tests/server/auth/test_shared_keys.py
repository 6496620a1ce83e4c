"""One key ring shared by several processes (gateways behind a load balancer).

Each test opens two or more rings on one directory, as two gateways on one
data volume do: whatever one of them signs, the other verifies."""

from __future__ import annotations

import json
import multiprocessing
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server.auth.keys import FOLLOW_SECONDS, KeyRing
from server.auth.tokens import TokenError, TokenIssuer

LIFETIME = 930
WEEK = 7 * 24 * 3600


class Clock:
    """Both the wall clock of tokens and the monotonic clock of the rings."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _ring(directory: Path, clock: Clock) -> KeyRing:
    return KeyRing(directory, LIFETIME, clock=clock)


def _issuer(ring: KeyRing, clock: Clock) -> TokenIssuer:
    return TokenIssuer(ring, "https://stx.test", "stx", 900, clock)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _indexed(directory: Path) -> list[str]:
    return [entry["kid"] for entry in json.loads((directory / "keys.json").read_text())]


def test_a_rotation_by_one_gateway_is_followed_by_the_other(tmp_path: Path) -> None:
    clock = Clock()
    first = _issuer(_ring(tmp_path, clock), clock)
    second = _issuer(_ring(tmp_path, clock), clock)
    assert first.keys.signing.kid == second.keys.signing.kid  # the second adopted the key
    old, _ = second.issue("u", (2,))
    first.keys.rotate(clock.now)
    new, _ = first.issue("u", (2,))
    assert _kid(new) != _kid(old)
    assert second.verify(new).subject == "u"  # an unknown kid: the second reloads
    assert first.verify(old).subject == "u"
    clock.now += FOLLOW_SECONDS
    assert {key["kid"] for key in second.keys.jwks(clock.now)} == {_kid(old), _kid(new)}
    after, _ = second.issue("u", (2,))
    assert _kid(after) == _kid(new)  # the second signs with the new key too
    assert first.verify(after).subject == "u"


def test_a_due_rotation_happens_once_and_keeps_every_key(tmp_path: Path) -> None:
    clock = Clock()
    first, second = _ring(tmp_path, clock), _ring(tmp_path, clock)
    due = first.signing.created + WEEK
    signed = {first.signing.kid}
    assert first.rotate_if_due(WEEK, now=due)
    assert not second.rotate_if_due(WEEK, now=due)  # it reads the first one's rotation
    assert first.keys[-1].kid == second.keys[-1].kid
    signed.add(first.keys[-1].kid)
    assert set(_indexed(tmp_path)) == signed
    third = _ring(tmp_path, clock)
    assert all(third.verifying(kid, now=due) is not None for kid in signed)


def test_a_stale_ring_rotating_does_not_drop_the_others_keys(tmp_path: Path) -> None:
    clock = Clock()
    first, second = _ring(tmp_path, clock), _ring(tmp_path, clock)
    made_by_first = first.rotate(clock.now).kid
    made_by_second = second.rotate(clock.now + 1).kid
    assert set(_indexed(tmp_path)) >= {made_by_first, made_by_second}
    assert (tmp_path / f"{made_by_first}.pem").exists()
    clock.now += FOLLOW_SECONDS
    assert first.verifying(made_by_second, now=clock.now + 1) is not None
    assert first.signing.kid == made_by_second


def test_forged_key_ids_do_not_reload_the_ring_per_request(tmp_path: Path) -> None:
    clock = Clock()
    first = _issuer(_ring(tmp_path, clock), clock)
    second = _issuer(_ring(tmp_path, clock), clock)
    genuine, _ = first.issue("u", (2,))
    first.keys.rotate(clock.now)
    for number in range(500):
        forged = jwt.api_jws.encode(b"{}", second.keys.keys[0].private, "ES256",
                                    headers={"kid": f"forged-{number}"})  # fmt: skip
        with pytest.raises(TokenError, match="unknown or retired key id"):
            second.verify(forged)
    assert second.keys.reloads == 1  # the first forged kid found the rotation, once
    clock.now += 10 * FOLLOW_SECONDS
    with pytest.raises(TokenError):
        second.verify(forged)
    assert second.keys.reloads == 1  # looked again, nothing changed: nothing read
    assert second.verify(genuine).subject == "u"


class SlowKeyRing(KeyRing):
    """A ring whose key generation takes long enough for every starting
    process to be inside it at once (a loaded machine, an HSM)."""

    def _generate(self, kid: str, created: float) -> ec.EllipticCurvePrivateKey:
        time.sleep(0.3)
        return super()._generate(kid, created)


def _start_ring(directory: Path, start: Barrier, kids: multiprocessing.Queue[str]) -> None:
    start.wait()
    kids.put(SlowKeyRing(directory, LIFETIME).signing.kid)


def test_gateways_starting_together_on_an_empty_volume_make_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    count = 4
    start = context.Barrier(count)
    kids: multiprocessing.Queue[str] = context.Queue()
    processes = [
        context.Process(target=_start_ring, args=(tmp_path / "keys", start, kids))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    made = {kids.get(timeout=120) for _ in processes}
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(made) == 1
    assert _indexed(tmp_path / "keys") == list(made)


def test_a_ring_in_memory_only_never_looks_for_changes() -> None:
    clock = Clock()
    ring = KeyRing(None, LIFETIME, clock=clock)
    assert ring.verifying("nobody") is None
    clock.now += FOLLOW_SECONDS
    assert ring.verifying("nobody") is None
    assert ring.reloads == 0


def test_a_ring_whose_files_were_deleted_keeps_its_keys_and_writes_them_back(
    tmp_path: Path,
) -> None:
    clock = Clock()
    ring = _ring(tmp_path, clock)
    kid = ring.signing.kid
    for path in tmp_path.iterdir():
        path.unlink()
    clock.now += FOLLOW_SECONDS
    assert ring.verifying("unknown") is None
    assert ring.signing.kid == kid
    made = ring.rotate(clock.now).kid
    assert _indexed(tmp_path) == [kid, made]


def test_two_unretired_keys_settle_on_the_newest(tmp_path: Path) -> None:
    """What two rotations at once leave where no lock is shared (a network
    HSM reached from two hosts): every reader signs with the newer key and
    lets the older verify as a superseded one."""
    clock = Clock()
    first = _ring(tmp_path, clock)
    older = first.signing
    newer = first.rotate(older.created + 60)
    entries = json.loads((tmp_path / "keys.json").read_text())
    entries[0]["retired_after"] = None
    (tmp_path / "keys.json").write_text(json.dumps(entries))
    reader = _ring(tmp_path, clock)
    assert reader.signing.kid == newer.kid
    assert reader.verifying(older.kid, now=newer.created + LIFETIME) is not None
    assert reader.verifying(older.kid, now=newer.created + LIFETIME + 1) is None
