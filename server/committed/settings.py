"""The ``[relay]`` section of the configuration and its ``STX_RELAY_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from server.committed.log import url_problem
from server.secret_values import redact_url

MAX_BATCH = 10_000


class RelayConfigError(ValueError):
    """A relay value cannot be used; the message names the key or variable."""


@dataclass(frozen=True)
class RelaySettings:
    url: str = ""
    """The log the relay appends the committed journal to
    (``redis://host:port/db?stream=NAME``); empty: no relay runs."""
    source: str = ""
    """The log this host's projector and analytics read instead of the
    journal files (a host without the journal); empty: the journal."""
    batch: int = 1_000
    """Records per append."""


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise RelayConfigError(f"{where}: expected a URL, got {value!r}")
    problem = url_problem(value) if value else None
    if problem is not None:
        raise RelayConfigError(f"{where}: {redact_url(value)!r}: {problem}")
    return value


def _batch(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH:
        raise RelayConfigError(f"{where}: expected 1 to {MAX_BATCH} records, got {value!r}")
    return value


def parse_relay(table: Mapping[str, Any]) -> RelaySettings:
    unknown = set(table) - {"url", "source", "batch"}
    if unknown:
        raise RelayConfigError(f"relay: unknown keys {sorted(unknown)}")
    return RelaySettings(
        url=_url(table.get("url", ""), "relay.url"),
        source=_url(table.get("source", ""), "relay.source"),
        batch=_batch(table.get("batch", RelaySettings.batch), "relay.batch"),
    )


def relay_from_environ(settings: RelaySettings, environ: Mapping[str, str]) -> RelaySettings:
    """``STX_RELAY_URL``, ``STX_RELAY_SOURCE`` and ``STX_RELAY_BATCH`` over the file."""
    if "STX_RELAY_URL" in environ:
        settings = replace(settings, url=_url(environ["STX_RELAY_URL"], "STX_RELAY_URL"))
    if "STX_RELAY_SOURCE" in environ:
        source = _url(environ["STX_RELAY_SOURCE"], "STX_RELAY_SOURCE")
        settings = replace(settings, source=source)
    if "STX_RELAY_BATCH" in environ:
        raw = environ["STX_RELAY_BATCH"]
        try:
            batch = int(raw)
        except ValueError:
            raise RelayConfigError(f"STX_RELAY_BATCH: {raw!r} is not a number") from None
        settings = replace(settings, batch=_batch(batch, "STX_RELAY_BATCH"))
    return settings
