"""Where the token-signing keys come from: files (the default) or a PKCS#11 token."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from server.auth.keys import KeyRing
from server.auth.tokens import ACCESS_SECONDS, LEEWAY_SECONDS
from server.config import Settings

LONGEST_TOKEN_SECONDS = ACCESS_SECONDS + LEEWAY_SECONDS
"""How long a superseded key keeps verifying: every token it signed has expired by then."""


def open_key_ring(settings: Settings, environ: Mapping[str, str] = os.environ) -> KeyRing:
    """The key ring the settings name; a token's PIN comes from ``environ``."""
    if settings.pkcs11_module:
        from server.hsm.signing import Pkcs11KeyRing  # noqa: PLC0415 - needs python-pkcs11
        from server.hsm.token import token_settings  # noqa: PLC0415

        token = token_settings(settings.pkcs11_module, settings.pkcs11_token, environ)
        return Pkcs11KeyRing(token, LONGEST_TOKEN_SECONDS)
    return KeyRing(Path(settings.data_dir) / "keys", LONGEST_TOKEN_SECONDS)
