"""The data key wrapped by an AES key in a real SoftHSM2 token."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute

from server.auth.tokens import ACCESS_SECONDS
from server.hsm.signing import Pkcs11KeyRing
from server.hsm.token import TokenSettings, open_session, release_session
from server.hsm.wrapping import (
    WRAPPED_BYTES,
    TokenKeyWrapper,
    WrappedKeyError,
    unwrap_data_key,
    wrap_data_key,
    wrapping_key,
)
from server.store.data_key import DataKeyError, add_new_key, key_file, load_data_keys


def test_a_data_key_wrapped_in_the_token_unwraps_after_a_restart(
    softhsm_token: TokenSettings,
) -> None:
    data_key = os.urandom(32)
    ring = Pkcs11KeyRing(softhsm_token, ACCESS_SECONDS)
    try:
        wrapped = wrap_data_key(ring.session, data_key)
        assert len(wrapped) == WRAPPED_BYTES
        assert data_key not in wrapped
        assert wrap_data_key(ring.session, data_key) != wrapped  # a fresh nonce each time
        aes = wrapping_key(ring.session)
        assert aes[Attribute.SENSITIVE] is True
        assert aes[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.AttributeSensitive):
            aes[Attribute.VALUE]
    finally:
        ring.close()
    again = Pkcs11KeyRing(softhsm_token, ACCESS_SECONDS)
    try:
        assert unwrap_data_key(again.session, wrapped) == data_key
        damaged = bytearray(wrapped)
        damaged[20] ^= 1
        with pytest.raises(WrappedKeyError):
            unwrap_data_key(again.session, bytes(damaged))
        with pytest.raises(WrappedKeyError):
            unwrap_data_key(again.session, wrapped[:-1])
        with pytest.raises(ValueError, match="32 bytes"):
            wrap_data_key(again.session, data_key[:16])
    finally:
        again.close()


def test_the_data_key_and_the_signing_keys_share_the_process_login(
    softhsm_token: TokenSettings,
) -> None:
    """A second C_Login in one process fails: both users get the one session."""
    ring = Pkcs11KeyRing(softhsm_token, ACCESS_SECONDS)
    try:
        session = open_session(softhsm_token)
        assert session is ring.session
        wrapped = wrap_data_key(session, bytes(32))
        release_session(softhsm_token)
        assert unwrap_data_key(ring.session, wrapped) == bytes(32)  # still logged in
    finally:
        ring.close()
    session = open_session(softhsm_token)  # the last one out closed it; a new login
    try:
        assert unwrap_data_key(session, wrapped) == bytes(32)
    finally:
        release_session(softhsm_token)


def test_the_data_key_file_holds_keys_only_wrapped_and_rotates(
    softhsm_token: TokenSettings, tmp_path: Path
) -> None:
    wrapper = TokenKeyWrapper(softhsm_token)
    first = load_data_keys(tmp_path, {}, wrapper)
    path = key_file(tmp_path, {}, wrapper)
    assert path == tmp_path / "keys" / "data.key.wrapped"
    assert load_data_keys(tmp_path, {}, wrapper) == first
    new = add_new_key(path, wrapper)
    assert load_data_keys(tmp_path, {}, wrapper) == [new, *first]
    stored = path.read_bytes()
    for key in (new, *first):
        assert key not in stored
        assert base64.b64encode(key) not in stored
    # A changed byte in a wrapped key: it no longer opens (GCM's tag).
    text = path.read_text()
    path.write_text(text[:10] + ("A" if text[10] != "A" else "B") + text[11:])
    with pytest.raises(DataKeyError, match="key 1"):
        load_data_keys(tmp_path, {}, wrapper)
