"""The token-signing keys: ES256 (ECDSA P-256), each with a key id.

Private keys live in ``<data dir>/keys/`` (PEM, mode 0600) so that tokens
survive a restart, or in a PKCS#11 token (``server/hsm/signing.py``, a
subclass that only changes where keys are made and kept). ``rotate`` makes
a new key the signing key; older keys keep verifying until every token they
signed has expired, then are retired. The JWK Set lists the public halves
of the keys that still verify.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


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
    def __init__(self, directory: Path | None, max_token_seconds: float) -> None:
        self._directory = directory
        self._max_token_seconds = max_token_seconds
        self.keys: list[SigningKey] = self._load()
        if not self.keys:
            self.rotate()

    def describe(self) -> str:
        """Where the keys are, for the start-up log."""
        return f"files in {self._directory}" if self._directory else "memory only"

    def close(self) -> None:
        """Let go of where the keys are kept (the file ring holds nothing open)."""

    @property
    def signing(self) -> SigningKey:
        return self.keys[-1]

    def verifying(self, kid: str, now: float | None = None) -> SigningKey | None:
        moment = time.time() if now is None else now
        for key in self.keys:
            if key.kid == kid and (key.retired_after is None or moment <= key.retired_after):
                return key
        return None

    def rotate(self, now: float | None = None) -> SigningKey:
        """Sign with a new key from now on; the old ones verify what they signed."""
        moment = time.time() if now is None else now
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
        return key

    def _generate(self, kid: str, created: float) -> ec.EllipticCurvePrivateKey:
        """A new P-256 private key (``kid`` and ``created`` name it where it is kept)."""
        return ec.generate_private_key(ec.SECP256R1())

    def rotate_if_due(self, max_age: float, now: float | None = None) -> bool:
        """Rotate when the signing key is older than ``max_age`` seconds."""
        moment = time.time() if now is None else now
        if moment - self.signing.created < max_age:
            return False
        self.rotate(moment)
        return True

    def jwks(self, now: float | None = None) -> list[dict[str, str]]:
        moment = time.time() if now is None else now
        return [
            key.jwk()
            for key in self.keys
            if key.retired_after is None or moment <= key.retired_after
        ]

    def _save(self) -> None:
        """Keep ``self.keys`` (and only those) where the ring lives."""
        directory = self._directory
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        index = []
        for key in self.keys:
            pem = key.private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            path = directory / f"{key.kid}.pem"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            index.append(
                {"kid": key.kid, "created": key.created, "retired_after": key.retired_after}
            )
        temporary = directory / "keys.json.tmp"
        temporary.write_text(json.dumps(index))
        temporary.replace(directory / "keys.json")
        kept = {f"{key.kid}.pem" for key in self.keys}
        for stale in directory.glob("*.pem"):
            if stale.name not in kept:
                stale.unlink()

    def _load(self) -> list[SigningKey]:
        directory = self._directory
        if directory is None or not (directory / "keys.json").exists():
            return []
        keys = []
        for entry in json.loads((directory / "keys.json").read_text()):
            pem = (directory / f"{entry['kid']}.pem").read_bytes()
            private = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise ValueError(f"key {entry['kid']} is not an EC key")
            keys.append(SigningKey(entry["kid"], private, entry["created"], entry["retired_after"]))
        return keys
