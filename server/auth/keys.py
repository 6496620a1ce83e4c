"""The token-signing keys: ES256 (ECDSA P-256), each with a key id.

Private keys live in ``<data dir>/keys/`` (PEM, mode 0600) so that tokens
survive a restart, or in a PKCS#11 token (``server/hsm/signing.py``, a
subclass that only changes where keys are made and kept). ``rotate`` makes
a new key the signing key; older keys keep verifying until every token they
signed has expired, then are retired. The JWK Set lists the public halves
of the keys that still verify. Several processes may share one ring: see
``KeyRing``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

INDEX_NAME = "keys.json"
LOCK_NAME = "keys.lock"
"""Held by the one process making or rotating keys (flock: released if it dies)."""
FOLLOW_SECONDS = 1.0
"""At most one look a second, for signing and for unknown key ids each, at
whether another process changed the ring."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey
    created: float
    retired_after: float | None = None
    """Unix time after which the key verifies nothing (set when superseded)."""

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "kid": self.kid,
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
            "alg": "ES256",
            "use": "sig",
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyRing:
    """The keys, shared by every process that opens the same place.

    Several gateways may open one ring (a load balancer, the chart's HPA), so
    the place is the truth and memory a cache of it. Making and rotating keys
    happen under an exclusive lock, on the ring re-read under that lock: the
    second gateway to start adopts the first one's key, and a due rotation
    happens once. Readers follow: a token whose key id is unknown, or a
    signature about to be made, first checks (at most once a second, so a
    flood of forged key ids costs no reads) whether the place changed, and
    reloads it if so.
    """

    def __init__(
        self,
        directory: Path | None,
        max_token_seconds: float,
        *,
        lock_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._max_token_seconds = max_token_seconds
        self._lock_file = lock_file
        if lock_file is None and directory is not None:
            self._lock_file = directory / LOCK_NAME
        self._clock = clock
        self._checked = {"sign": -math.inf, "unknown": -math.inf}
        self._stamp_seen: object = None
        self.reloads = 0
        """How often the ring was read again because another process changed it."""
        self.keys: list[SigningKey] = []
        with self._exclusive():
            self._reload()
            if not self.keys:
                self._rotate(time.time())

    def describe(self) -> str:
        """Where the keys are, for the start-up log."""
        return f"files in {self._directory}" if self._directory else "memory only"

    def close(self) -> None:
        """Let go of where the keys are kept (the file ring holds nothing open)."""

    @property
    def signing(self) -> SigningKey:
        self._follow("sign")
        return self.keys[-1]

    def verifying(self, kid: str, now: float | None = None) -> SigningKey | None:
        moment = time.time() if now is None else now
        key = self._find(kid, moment)
        if key is None and self._follow("unknown"):
            key = self._find(kid, moment)
        return key

    def _find(self, kid: str, moment: float) -> SigningKey | None:
        for key in self.keys:
            if key.kid == kid and (key.retired_after is None or moment <= key.retired_after):
                return key
        return None

    def rotate(self, now: float | None = None) -> SigningKey:
        """Sign with a new key from now on; the old ones verify what they signed."""
        moment = time.time() if now is None else now
        with self._exclusive():
            self._reload()
            return self._rotate(moment)

    def rotate_if_due(self, max_age: float, now: float | None = None) -> bool:
        """Rotate when the signing key is older than ``max_age`` seconds.

        False when another process sharing the ring rotated first: this one
        then signs with that process's new key."""
        moment = time.time() if now is None else now
        with self._exclusive():
            self._reload()
            if moment - self.keys[-1].created < max_age:
                return False
            self._rotate(moment)
            return True

    def _rotate(self, moment: float) -> SigningKey:
        """``rotate`` on the ring as just read, under the exclusive lock."""
        if self.keys:
            current = self.keys[-1]
            self.keys[-1] = SigningKey(
                current.kid, current.private, current.created, moment + self._max_token_seconds
            )
        kid = secrets.token_urlsafe(12)
        key = SigningKey(kid, self._generate(kid, moment), moment)
        self.keys.append(key)
        self.keys = [k for k in self.keys if k.retired_after is None or k.retired_after >= moment]
        self._save()
        self._stamp_seen = self._stamp()
        return key

    def _generate(self, kid: str, created: float) -> ec.EllipticCurvePrivateKey:
        """A new P-256 private key (``kid`` and ``created`` name it where it is kept)."""
        return ec.generate_private_key(ec.SECP256R1())

    def jwks(self, now: float | None = None) -> list[dict[str, str]]:
        self._follow("sign")
        moment = time.time() if now is None else now
        return [
            key.jwk()
            for key in self.keys
            if key.retired_after is None or moment <= key.retired_after
        ]

    def _follow(self, reason: str) -> bool:
        """Reload when another process changed the ring; checked at most once
        a second for each reason. True when the ring was read again."""
        if not self._kept():
            return False  # memory only: nobody else can change it
        moment = self._clock()
        if moment - self._checked[reason] < FOLLOW_SECONDS:
            return False
        self._checked[reason] = moment
        if self._stamp() == self._stamp_seen:
            return False
        with self._shared():
            self._reload()
        self.reloads += 1
        return True

    def _reload(self) -> None:
        """Read the ring from where it lives (under a lock: see ``_shared``)."""
        stamp = self._stamp()
        # A ring emptied under a running process (its files deleted) keeps
        # the keys it had: the next rotation writes them back.
        keys = (self._load() if self._kept() else []) or self.keys
        self.keys = self._settled(keys)
        self._stamp_seen = stamp

    def _settled(self, keys: list[SigningKey]) -> list[SigningKey]:
        """The keys with every one but the newest superseded.

        Rings whose processes cannot share a lock (a network HSM reached
        from several hosts) may end with two unretired keys after two
        rotations at once; every reader then agrees to sign with the newest
        and to let the other verify as a superseded key would."""
        ordered = sorted(keys, key=lambda key: key.created)
        for index, key in enumerate(ordered[:-1]):
            if key.retired_after is None:
                successor = ordered[index + 1].created
                ordered[index] = replace(key, retired_after=successor + self._max_token_seconds)
        return ordered

    def _kept(self) -> bool:
        """Whether the keys live anywhere but in this process's memory."""
        return self._directory is not None

    def _stamp(self) -> object:
        """Something that changes whenever the ring is saved, cheap to get."""
        if self._directory is None:
            return None
        try:
            status = (self._directory / INDEX_NAME).stat()
        except FileNotFoundError:
            return None
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The one writer among the processes sharing the ring."""
        with self._locked(fcntl.LOCK_EX):
            yield

    @contextmanager
    def _shared(self) -> Iterator[None]:
        """Readers: no writer deletes a key file between reading the index and it."""
        with self._locked(fcntl.LOCK_SH):
            yield

    @contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        if self._lock_file is None:
            yield
            return
        self._lock_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # Released on close, and by the kernel if this process dies holding it.
            fcntl.flock(descriptor, operation)
            yield
        finally:
            os.close(descriptor)

    def _save(self) -> None:
        """Keep ``self.keys`` (and only those) where the ring lives."""
        directory = self._directory
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        index = []
        for key in self.keys:
            path = directory / f"{key.kid}.pem"
            if not path.exists():  # a key's file never changes once written
                pem = key.private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as file:
                    file.write(pem)
            index.append(
                {"kid": key.kid, "created": key.created, "retired_after": key.retired_after}
            )
        temporary = directory / f"{INDEX_NAME}.tmp"
        temporary.write_text(json.dumps(index))
        temporary.replace(directory / INDEX_NAME)
        kept = {f"{key.kid}.pem" for key in self.keys}
        for stale in directory.glob("*.pem"):
            if stale.name not in kept:
                stale.unlink()

    def _load(self) -> list[SigningKey]:
        directory = self._directory
        if directory is None or not (directory / INDEX_NAME).exists():
            return []
        keys = []
        for entry in json.loads((directory / INDEX_NAME).read_text()):
            pem = (directory / f"{entry['kid']}.pem").read_bytes()
            private = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise ValueError(f"key {entry['kid']} is not an EC key")
            keys.append(SigningKey(entry["kid"], private, entry["created"], entry["retired_after"]))
        return keys
