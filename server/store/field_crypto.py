"""Column values sealed with AES-256-GCM, and blind indexes to find them.

A sealed value is ``version (1 byte) | key id (4) | nonce (12) | ciphertext
and GCM tag (16)``. The key id is derived from the data key itself (the
first four bytes of HMAC-SHA-256(key, "stx data key id")), so keys need no
numbering that could drift out of step between the key file and the rows,
and a value sealed under a key the process lacks is recognised before any
decryption is tried. The associated data binds a value to its column and its
row (``"users.email" \\0 user_id``) and to its header: a value copied to
another row or column, or with a byte changed anywhere, fails the GCM tag,
and that is an exception, never garbage.

Neither AES key is the data key: each data key yields, by HKDF-SHA-256, one
key for sealing and one for blind indexes, so the two uses never share a key.
A blind index is HMAC-SHA-256 of the normalised value under the index key of
the *current* data key, in hex: equal values give equal indexes (uniqueness,
look-ups) and nothing else can be read from it. Rotating the data key
therefore recomputes the indexes too (``server/store/personal.py``).

Values are padded (ISO/IEC 7816-4: a 0x80 byte, then zeros) to a multiple
of 64 bytes before sealing, so the stored length does not tell an address's
length (nearly every address fits the first 64).

Nonces are random (96 bits): GCM stays safe for 2**32 values per key, far
beyond the users an exchange has, and the rotation resets the count.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
VERSION = 1
_ID_BYTES = 4
_NONCE_BYTES = 12
_HEADER = 1 + _ID_BYTES
_TAG_BYTES = 16
_PAD_BLOCK = 64


class FieldCryptoError(Exception):
    """A sealed value cannot be opened: tampered with, moved to another row or
    column, truncated, of an unknown format, or sealed under a key this
    process does not have. The stored data is wrong (or the key ring
    incomplete): a fault to investigate, not input to refuse."""


def key_id(data_key: bytes) -> bytes:
    """The four bytes naming ``data_key`` in every value sealed under it."""
    return hmac.digest(data_key, b"stx data key id", "sha256")[:_ID_BYTES]


def _derive(data_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(
        data_key
    )


class _Key:
    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes, not {len(data_key)}")
        self.id = key_id(data_key)
        self.aead = AESGCM(_derive(data_key, b"stx field encryption v1"))
        self.index = _derive(data_key, b"stx blind index v1")


class FieldCipher:
    """Seals and opens column values under a ring of data keys: the first
    key seals (and keys the blind indexes), every key opens."""

    def __init__(self, data_keys: Sequence[bytes]) -> None:
        if not data_keys:
            raise ValueError("a field cipher needs at least one data key")
        keys = [_Key(data_key) for data_key in data_keys]
        self._current = keys[0]
        self._by_id: dict[bytes, _Key] = {}
        for key in keys:
            if key.id in self._by_id:
                raise ValueError(f"two data keys share the id {key.id.hex()}: a key is repeated")
            self._by_id[key.id] = key

    @property
    def current_key_id(self) -> bytes:
        return self._current.id

    def seal(self, value: str, column: str, row_key: str) -> bytes:
        """``value`` encrypted under the current key, bound to ``column`` and ``row_key``."""
        header = bytes([VERSION]) + self._current.id
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(
            nonce, _pad(value.encode()), _associated(header, column, row_key)
        )
        return header + nonce + sealed

    def unseal(self, stored: bytes, column: str, row_key: str) -> str:
        """The value ``seal`` was given; FieldCryptoError if it does not check out."""
        where = f"{column} of {row_key!r}"
        if len(stored) < _HEADER + _NONCE_BYTES + _TAG_BYTES:
            raise FieldCryptoError(f"{where}: sealed value is truncated ({len(stored)} bytes)")
        if stored[0] != VERSION:
            raise FieldCryptoError(f"{where}: unknown sealed-value format {stored[0]}")
        key = self._by_id.get(self.sealed_key_id(stored))
        if key is None:
            raise FieldCryptoError(
                f"{where}: sealed under data key {self.sealed_key_id(stored).hex()}, "
                "which is not in the key ring (a retired key was removed too early?)"
            )
        header, nonce = stored[:_HEADER], stored[_HEADER : _HEADER + _NONCE_BYTES]
        try:
            plain = key.aead.decrypt(
                nonce, stored[_HEADER + _NONCE_BYTES :], _associated(header, column, row_key)
            )
        except InvalidTag:
            raise FieldCryptoError(
                f"{where}: sealed value does not authenticate (altered, or moved from "
                "another row or column)"
            ) from None
        unpadded = plain.rstrip(b"\0")
        if not unpadded.endswith(b"\x80"):  # authentic, so only a bug could do this
            raise FieldCryptoError(f"{where}: sealed value has no padding")
        return unpadded[:-1].decode()

    def has_key(self, key_id: bytes) -> bool:
        return key_id in self._by_id

    @staticmethod
    def sealed_key_id(stored: bytes) -> bytes:
        """The id of the data key a sealed value was sealed under."""
        return bytes(stored[1:_HEADER])

    def blind_index(self, normalised: str, column: str) -> str:
        """HMAC-SHA-256 of ``normalised`` (already normalised by the caller, the
        same way on every write and look-up) under the current index key."""
        message = column.encode() + b"\0" + normalised.encode()
        return hmac.new(self._current.index, message, hashlib.sha256).hexdigest()


def _pad(plain: bytes) -> bytes:
    padded = plain + b"\x80"
    return padded + b"\0" * (-len(padded) % _PAD_BLOCK)


def _associated(header: bytes, column: str, row_key: str) -> bytes:
    # Length-prefixed so no (column, row key) pair can be confused with another.
    parts = [column.encode(), row_key.encode()]
    return header + b"".join(len(part).to_bytes(4, "big") + part for part in parts)
