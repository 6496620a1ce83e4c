"""The personal data the store keeps sealed, and re-sealing it under a new key.

Only the e-mail address of a user is sealed (``users.email_ciphertext``),
with a blind index (``users.email_index``) that keeps addresses unique.
What else is personal and why it stays readable is in docs/security.md:
user names are the sign-in name and the root of account ids; the client
addresses in ``audit_log`` and ``auth_log`` are covered by their hash
chains (a SHA-256 over a low-entropy address would give it away anyway)
and are in the journal, which the store is rebuilt from.

Functions here run on a synchronous connection: migration 0005 calls them
inside Alembic, and the store through ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from server.store.field_crypto import FieldCipher
from server.store.schema import users

EMAIL = "users.email"
"""The associated-data name of the e-mail column (kept if the column is renamed)."""
_CHUNK = 500


def normalise_email(email: str) -> str:
    """The form addresses are stored, indexed and compared in (as before sealing)."""
    return email.lower()


def email_columns(cipher: FieldCipher, user_id: str, email: str) -> dict[str, object]:
    """The ``users`` columns holding ``email`` for the user ``user_id``."""
    normalised = normalise_email(email)
    return {
        "email_ciphertext": cipher.seal(normalised, EMAIL, user_id),
        "email_index": cipher.blind_index(normalised, EMAIL),
    }


def email_of(cipher: FieldCipher, user_id: str, sealed: bytes) -> str:
    return cipher.unseal(sealed, EMAIL, user_id)


def email_index(cipher: FieldCipher, email: str) -> str:
    """The blind index to look ``email`` up by."""
    return cipher.blind_index(normalise_email(email), EMAIL)


def reseal_users(connection: Connection, cipher: FieldCipher) -> int:
    """Re-seal every e-mail not sealed under the current key, and recompute its
    index; the number of users re-sealed. Rows already under the current key
    are left alone, so running it again after an interruption finishes the job."""
    resealed = 0
    after = ""
    while True:
        rows = connection.execute(
            select(users.c.user_id, users.c.email_ciphertext)
            .where(users.c.user_id > after)
            .order_by(users.c.user_id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return resealed
        for user_id, sealed in rows:
            if FieldCipher.sealed_key_id(sealed) == cipher.current_key_id:
                continue
            email = email_of(cipher, user_id, sealed)
            connection.execute(
                update(users)
                .where(users.c.user_id == user_id)
                .values(**email_columns(cipher, user_id, email))
            )
            resealed += 1
        after = rows[-1].user_id
