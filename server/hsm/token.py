"""Opening the configured PKCS#11 token with its PIN."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.secret_values import read_secret


class HsmError(Exception):
    """The token cannot be used; the message says why (never the PIN)."""


@dataclass(frozen=True)
class TokenSettings:
    module: str
    """The PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so."""
    label: str
    """The token's label."""
    pin: str

    def __repr__(self) -> str:  # the PIN stays out of any traceback or log
        return f"TokenSettings(module={self.module!r}, label={self.label!r}, pin='***')"


def token_settings(
    module: str, label: str, environ: Mapping[str, str] = os.environ
) -> TokenSettings:
    """The settings of ``label`` in ``module``, the user PIN from STX_PKCS11_PIN[_FILE]."""
    pin = read_secret("PKCS11_PIN", environ)
    if pin is None:
        raise HsmError(
            f"token {label!r} needs its user PIN in STX_PKCS11_PIN or STX_PKCS11_PIN_FILE"
        )
    return TokenSettings(module, label, pin)


_open: dict[tuple[str, str], tuple[Any, int]] = {}
"""(module, label) -> (the logged-in session, its users). A process logs in
to a token once (a second C_Login fails, and closing a logged-in session
logs every session out), so every user of the token shares one session."""


def open_session(settings: TokenSettings) -> Any:
    """The process's read-write session, logged in as the token's user; give
    it back with ``release_session`` (the last one out closes it)."""
    name = (settings.module, settings.label)
    found = _open.get(name)
    if found is not None:
        session, users = found
        _open[name] = (session, users + 1)
        return session
    session = _login(settings)
    _open[name] = (session, 1)
    return session


def release_session(settings: TokenSettings) -> None:
    name = (settings.module, settings.label)
    session, users = _open[name]
    if users > 1:
        _open[name] = (session, users - 1)
        return
    del _open[name]
    session.close()


def _login(settings: TokenSettings) -> Any:
    import pkcs11  # noqa: PLC0415 - only a server configured with a token needs it

    try:
        library = pkcs11.lib(settings.module)
    except RuntimeError as error:
        raise HsmError(f"cannot load PKCS#11 module {settings.module}: {error}") from None
    try:
        token = library.get_token(token_label=settings.label)
    except pkcs11.NoSuchToken:
        raise HsmError(f"no token labelled {settings.label!r} in {settings.module}") from None
    try:
        return token.open(user_pin=settings.pin, rw=True)
    except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.PinInvalid):
        raise HsmError(f"the PIN of token {settings.label!r} is wrong") from None
    except pkcs11.PinLocked:
        raise HsmError(f"the PIN of token {settings.label!r} is locked") from None
