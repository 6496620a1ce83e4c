"""Keep secrets out of every log line, whatever the caller passed.

A filter on the one handler (``setup.py``) rewrites each record before any
formatter sees it: the message is rendered and scrubbed (URL credentials,
``password=...``-style pairs, bearer tokens, JWTs), and each structured field
whose name says it holds a secret (``password``, ``access_token``,
``pkcs11_pin``, ``private_key``, ...) is replaced by ``***``; other string
fields are scrubbed like the message. Exception and stack text are scrubbed
by the formatters through ``redact_text``. URLs go through
``secret_values.redact_url``, the helper every message naming a URL uses.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

from server.secret_values import HIDDEN, redact_url

SECRET_WORDS = frozenset(
    {
        "apikey",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "passphrase",
        "passwd",
        "password",
        "pin",
        "secret",
        "token",
    }
)
"""A field is secret when one of the ``_``-separated words of its name is one
of these (``access_token``, ``pkcs11_pin``, ``client_secret``) or its last
word is ``key`` (``api_key``, ``private_key``; a ``key_id`` names a key and
is logged)."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_PAIR = re.compile(
    r"(?i)\b((?:[a-z0-9]+[_-])*(?:password|passwd|passphrase|secret|token|pin|api[_-]?key"
    r"|authorization|cookie))(['\"]?\s*[=:]\s*['\"]?)([^\s'\",;&)}\]]+)"
)
"""``name=value`` and ``name: value`` (dict reprs, query strings, headers)."""
_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SUSPECT = re.compile(
    r"(?i)://|bearer|basic|password|passwd|passphrase|secret|token|pin|api.?key|authorization"
    r"|cookie|eyJ"
)
"""A substring every one of the patterns above needs to match."""

STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
"""A record's own attributes; anything else on it came from ``extra=``."""


@functools.cache
def is_secret_name(name: str) -> bool:
    words = name.lower().replace("-", "_").split("_")
    return words[-1] == "key" or any(word in SECRET_WORDS for word in words)


def redact_text(text: str) -> str:
    """``text`` with credentials in URLs, secret pairs, tokens and JWTs hidden.

    One quick search first: most lines hold nothing to hide, and running
    every pattern on each costs more than formatting it."""
    if _SUSPECT.search(text) is None:
        return text
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    text = _SCHEME.sub(lambda match: f"{match.group(1)} {HIDDEN}", text)
    text = _PAIR.sub(lambda match: f"{match.group(1)}{match.group(2)}{HIDDEN}", text)
    return _JWT.sub(HIDDEN, text)


def redact_value(name: str, value: Any) -> Any:
    """A structured field's value as it may be logged."""
    if is_secret_name(name):
        return HIDDEN
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Scrubs each record in place; it never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Arguments that do not fit the format: shown as they are, but
            # scrubbed (the handler's own error report would print them raw).
            message = f"{record.msg!s} (arguments: {record.args!r})"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_text:  # a traceback another handler formatted first
            record.exc_text = redact_text(record.exc_text)
        fields = vars(record)
        for name in fields.keys() - STANDARD_ATTRIBUTES:
            fields[name] = redact_value(name, fields[name])
        return True
