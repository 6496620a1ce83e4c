"""Sealed column values: AES-256-GCM bound to column and row, key rotation, blind indexes."""

from __future__ import annotations

import os

import pytest

from server.store.field_crypto import FieldCipher, FieldCryptoError, key_id

OLD, NEW = os.urandom(32), os.urandom(32)


def test_a_sealed_value_opens_to_itself_and_does_not_contain_it() -> None:
    cipher = FieldCipher([NEW])
    for value in ("ann@example.com", "", "zoë@exämple.org", "x" * 254, "a\0", "\x80"):
        sealed = cipher.seal(value, "users.email", "u1")
        assert cipher.unseal(sealed, "users.email", "u1") == value
        if value:
            assert value.encode() not in sealed
    # A fresh nonce every time: the same value never seals to the same bytes.
    assert cipher.seal("a@b.c", "users.email", "u1") != cipher.seal("a@b.c", "users.email", "u1")


def test_the_stored_length_does_not_tell_the_length_of_the_value() -> None:
    cipher = FieldCipher([NEW])
    lengths = {len(cipher.seal("a" * size, "users.email", "u1")) for size in range(64)}
    assert len(lengths) == 1
    assert len(cipher.seal("a" * 64, "users.email", "u1")) > lengths.pop()


def test_every_altered_byte_is_refused_never_opened_to_garbage() -> None:
    cipher = FieldCipher([NEW])
    sealed = cipher.seal("ann@example.com", "users.email", "u1")
    for position in range(len(sealed)):
        altered = bytearray(sealed)
        altered[position] ^= 0x01
        with pytest.raises(FieldCryptoError):
            cipher.unseal(bytes(altered), "users.email", "u1")
    for cut in (0, 5, 17, 32, len(sealed) - 1):
        with pytest.raises(FieldCryptoError):
            cipher.unseal(sealed[:cut], "users.email", "u1")


def test_a_value_moved_to_another_row_or_column_is_refused() -> None:
    cipher = FieldCipher([NEW])
    sealed = cipher.seal("ann@example.com", "users.email", "u1")
    with pytest.raises(FieldCryptoError, match="does not authenticate"):
        cipher.unseal(sealed, "users.email", "u2")
    with pytest.raises(FieldCryptoError, match="does not authenticate"):
        cipher.unseal(sealed, "users.name", "u1")
    # The column and row key cannot be shifted into one another either.
    shifted = cipher.seal("v", "users.email", "1")
    with pytest.raises(FieldCryptoError):
        cipher.unseal(shifted, "users.email1", "")


def test_the_newest_key_seals_and_every_key_in_the_ring_opens() -> None:
    before = FieldCipher([OLD])
    old_value = before.seal("ann@example.com", "users.email", "u1")
    rotated = FieldCipher([NEW, OLD])
    assert rotated.current_key_id == key_id(NEW)
    assert FieldCipher.sealed_key_id(old_value) == key_id(OLD)
    assert rotated.unseal(old_value, "users.email", "u1") == "ann@example.com"
    new_value = rotated.seal("ann@example.com", "users.email", "u1")
    assert FieldCipher.sealed_key_id(new_value) == key_id(NEW)
    # Without the old key its values are refused by name, not tried and garbled.
    with pytest.raises(FieldCryptoError, match=f"data key {key_id(OLD).hex()}"):
        FieldCipher([NEW]).unseal(old_value, "users.email", "u1")
    with pytest.raises(FieldCryptoError):
        before.unseal(new_value, "users.email", "u1")


def test_blind_indexes_match_equal_values_under_one_key_only() -> None:
    cipher = FieldCipher([NEW, OLD])
    index = cipher.blind_index("ann@example.com", "users.email")
    assert index == cipher.blind_index("ann@example.com", "users.email")
    assert len(index) == 64
    assert index != cipher.blind_index("bob@example.com", "users.email")
    assert index != cipher.blind_index("ann@example.com", "users.other")
    assert index != FieldCipher([OLD]).blind_index("ann@example.com", "users.email")


def test_bad_key_rings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FieldCipher([])
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher([os.urandom(16)])
    with pytest.raises(ValueError, match="repeated"):
        FieldCipher([NEW, OLD, NEW])


def test_an_unknown_format_version_is_refused() -> None:
    cipher = FieldCipher([NEW])
    sealed = bytearray(cipher.seal("a@b.c", "users.email", "u1"))
    sealed[0] = 2
    with pytest.raises(FieldCryptoError, match="unknown sealed-value format 2"):
        cipher.unseal(bytes(sealed), "users.email", "u1")
