"""The 32-byte data key, protected by an AES key that never leaves the token.

For the encryption of personal data at rest: with a PKCS#11 token the data
key is kept on disk only wrapped (encrypted) by an AES-256 key generated in
the token (sensitive, never extractable), and unwrapped into memory at
start. Without the token (and its PIN) the file is useless.

The wrap is C_Encrypt with CKM_AES_GCM (SoftHSM2 implements it; it has no
CKM_AES_KEY_WRAP_PAD for C_Encrypt, and C_WrapKey would need the data key
as a token object first). A wrapped key is ``VERSION || nonce (12) ||
ciphertext (32) || tag (16)``; the associated data binds it to its purpose.
"""

from __future__ import annotations

import os
from typing import Any

from server.hsm.token import TokenSettings, open_session, release_session

WRAPPING_LABEL = "stx-data-key-wrapping"
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BITS = 128
VERSION = b"\x01"
PURPOSE = b"stocktraderx data key v1"
WRAPPED_BYTES = len(VERSION) + NONCE_BYTES + DATA_KEY_BYTES + TAG_BITS // 8


class WrappedKeyError(ValueError):
    """A wrapped data key that this token cannot unwrap (damaged, or another token's)."""


def wrapping_key(session: Any) -> Any:
    """The token's AES wrapping key, generated in the token the first time."""
    from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass  # noqa: PLC0415

    found = list(
        session.get_objects(
            {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.AES,
                Attribute.LABEL: WRAPPING_LABEL,
            }
        )
    )
    if len(found) > 1:
        raise WrappedKeyError(f"the token holds {len(found)} keys labelled {WRAPPING_LABEL!r}")
    if found:
        return found[0]
    return session.generate_key(
        KeyType.AES,
        256,
        label=WRAPPING_LABEL,
        store=True,
        capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
        template={
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
        },
    )


def wrap_data_key(session: Any, data_key: bytes) -> bytes:
    """``data_key`` encrypted under the token's wrapping key, to store in a file."""
    from pkcs11 import Mechanism  # noqa: PLC0415 - optional dependency
    from pkcs11.mechanisms import GCMParams  # noqa: PLC0415

    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes, not {len(data_key)}")
    nonce = os.urandom(NONCE_BYTES)
    sealed = wrapping_key(session).encrypt(
        data_key,
        mechanism=Mechanism.AES_GCM,
        mechanism_param=GCMParams(nonce, PURPOSE, TAG_BITS),
    )
    return VERSION + nonce + bytes(sealed)


def unwrap_data_key(session: Any, wrapped: bytes) -> bytes:
    """The data key inside ``wrapped``; WrappedKeyError if it does not open."""
    import pkcs11  # noqa: PLC0415 - optional dependency
    from pkcs11.mechanisms import GCMParams  # noqa: PLC0415

    if len(wrapped) != WRAPPED_BYTES or not wrapped.startswith(VERSION):
        raise WrappedKeyError(
            f"a wrapped data key is {WRAPPED_BYTES} bytes starting with version 1"
        )
    nonce = wrapped[len(VERSION) : len(VERSION) + NONCE_BYTES]
    try:
        data_key = wrapping_key(session).decrypt(
            wrapped[len(VERSION) + NONCE_BYTES :],
            mechanism=pkcs11.Mechanism.AES_GCM,
            mechanism_param=GCMParams(nonce, PURPOSE, TAG_BITS),
        )
    except (pkcs11.EncryptedDataInvalid, pkcs11.EncryptedDataLenRange, pkcs11.GeneralError):
        # A GCM tag that does not match: SoftHSM2 answers CKR_GENERAL_ERROR.
        raise WrappedKeyError("the wrapped data key does not open with this token's key") from None
    return bytes(data_key)


class TokenKeyWrapper:
    """The data key file's wrapper (``server/store/data_key.KeyWrapper``) for a
    configured token: each call borrows the process's session to the token."""

    def __init__(self, token: TokenSettings) -> None:
        self._token = token

    def wrap(self, key: bytes) -> bytes:
        session = open_session(self._token)
        try:
            return wrap_data_key(session, key)
        finally:
            release_session(self._token)

    def unwrap(self, wrapped: bytes) -> bytes:
        session = open_session(self._token)
        try:
            return unwrap_data_key(session, wrapped)
        finally:
            release_session(self._token)
