"""Secrets from the environment or from files, never from the configuration.

A secret named ``X`` is read from ``STX_X`` or from the file named by
``STX_X_FILE`` (a mounted Kubernetes or Docker secret; one trailing newline
is stripped). Setting both is an error, as is an empty value, so a typo
never silently means "no password". The values are returned to the caller
only: nothing here logs them, and ``redact_url`` is what any message that
names a URL uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"


class SecretError(ValueError):
    """A secret is set wrongly; the message names the variable, never the value."""


def read_secret(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret ``name`` (e.g. ``PKCS11_PIN``), or None when neither variable is set."""
    direct = f"STX_{name}"
    indirect = f"STX_{name}_FILE"
    value = environ.get(direct)
    path = environ.get(indirect)
    if value is not None and path is not None:
        raise SecretError(f"set {direct} or {indirect}, not both")
    if path is not None:
        try:
            value = Path(path).read_text()
        except OSError as error:
            raise SecretError(f"{indirect}: cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{indirect}: {path} is not UTF-8 text") from None
        value = value.removesuffix("\n").removesuffix("\r")
        where = f"{indirect} ({path})"
    else:
        where = direct
    if value is None:
        return None
    if not value:
        raise SecretError(f"{where} is empty")
    return value


def database_url(url: str, environ: Mapping[str, str] = os.environ) -> str:
    """``url`` with the password of ``STX_DATABASE_PASSWORD[_FILE]``, if set.

    The password is merged in only when connecting, so the URL in the
    configuration, the environment and the logs carries none."""
    password = read_secret("DATABASE_PASSWORD", environ)
    if password is None:
        return url
    # Only here: every process reads this module with its configuration, and
    # SQLAlchemy takes most of a second to import on a small machine.
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SecretError(f"STX_DATABASE_PASSWORD is set but the store is {redact_url(url)}")
    return parsed.set(password=password).render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return HIDDEN
    if password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{HIDDEN}@{host}"))
