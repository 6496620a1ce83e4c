"""Where the keys come from: files (the default) or a PKCS#11 token.

The token-signing keys live in the token itself; the data keys (personal
data at rest) are kept in a file, wrapped by an AES key in the token."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from server.auth.keys import LOCK_NAME, KeyRing
from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS
from server.config import Settings
from server.store.data_key import KeyWrapper

LONGEST_TOKEN_SECONDS = ACCESS_SECONDS + LEEWAY_SECONDS
"""How long a superseded key keeps verifying: every token it signed has expired by then."""


def open_key_ring(settings: Settings, environ: Mapping[str, str] = os.environ) -> KeyRing:
    """The key ring the settings name; a token's PIN comes from ``environ``."""
    if settings.pkcs11_module:
        from server.hsm.signing import Pkcs11KeyRing  # noqa: PLC0415 - needs python-pkcs11
        from server.hsm.token import token_settings  # noqa: PLC0415

        token = token_settings(settings.pkcs11_module, settings.pkcs11_token, environ)
        lock_file = Path(settings.data_dir) / "keys" / LOCK_NAME
        return Pkcs11KeyRing(token, LONGEST_TOKEN_SECONDS, lock_file=lock_file)
    return KeyRing(Path(settings.data_dir) / "keys", LONGEST_TOKEN_SECONDS)


def data_key_wrapper(
    settings: Settings, environ: Mapping[str, str] = os.environ
) -> KeyWrapper | None:
    """What seals the data key file: the token when one is configured, else nothing."""
    if not settings.pkcs11_module:
        return None
    from server.hsm.token import token_settings  # noqa: PLC0415 - needs python-pkcs11
    from server.hsm.wrapping import TokenKeyWrapper  # noqa: PLC0415

    return TokenKeyWrapper(token_settings(settings.pkcs11_module, settings.pkcs11_token, environ))
