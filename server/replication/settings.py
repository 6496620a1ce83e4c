"""The ``[replication]`` section: the primary's listener for a standby, and sync mode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("async", "sync")
ON_TIMEOUT = ("refuse", "degrade")


class ReplicationConfigError(ValueError):
    """A replication value cannot be used; the message names the key."""


@dataclass(frozen=True)
class ReplicationSettings:
    listen: str = ""
    """``HOST:PORT`` the core serves its standby on; empty: no replication."""
    mode: str = "async"
    """``sync``: a command is acknowledged only once the standby has made its
    batch durable; ``async``: the standby follows, acknowledgements do not wait."""
    on_timeout: str = "refuse"
    """Sync mode with no standby in step: ``refuse`` new commands (UNAVAILABLE,
    the strict default) or ``degrade`` to async with a loud log and metric."""
    timeout_ms: int = 1_000
    """How long a committed batch may wait for the standby's ack before the
    standby counts as gone (``on_timeout`` then applies)."""
    primary: str = ""
    """The standby's: ``HOST:PORT`` of the primary's ``listen`` (``--primary``)."""
    hash_every: int = 1_000_000
    """The primary sends its engine state hash after the batch crossing each
    multiple of this many sequences; the standby compares and stops on a mismatch.
    The hash is computed on the core's thread: 157 ms for 128,000 resting orders
    (docs/performance.md), so the default is the snapshot cadence; lower it for
    earlier detection at the cost of that pause every ``hash_every`` commands."""


def parse_address(text: str, where: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as a host and a port number."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ReplicationConfigError(f"{where}: expected HOST:PORT, got {text!r}")
    return host, int(port)


def _positive(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ReplicationConfigError(
            f"replication.{key}: expected a positive integer, got {value!r}"
        )
    return value


def _choice(table: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = table.get(key, default)
    if value not in choices:
        raise ReplicationConfigError(f"replication.{key}: expected one of {choices}, got {value!r}")
    return str(value)


def parse_replication(table: Mapping[str, Any]) -> ReplicationSettings:
    unknown = set(table) - {"listen", "primary", "mode", "on_timeout", "timeout_ms", "hash_every"}
    if unknown:
        raise ReplicationConfigError(f"replication: unknown keys {sorted(unknown)}")
    listen = table.get("listen", "")
    if not isinstance(listen, str):
        raise ReplicationConfigError(f"replication.listen: expected HOST:PORT, got {listen!r}")
    if listen:
        parse_address(listen, "replication.listen")
    primary = table.get("primary", "")
    if not isinstance(primary, str):
        raise ReplicationConfigError(f"replication.primary: expected HOST:PORT, got {primary!r}")
    if primary:
        parse_address(primary, "replication.primary")
    settings = ReplicationSettings(
        listen=listen,
        primary=primary,
        mode=_choice(table, "mode", MODES, ReplicationSettings.mode),
        on_timeout=_choice(table, "on_timeout", ON_TIMEOUT, ReplicationSettings.on_timeout),
        timeout_ms=_positive(table, "timeout_ms", ReplicationSettings.timeout_ms),
        hash_every=_positive(table, "hash_every", ReplicationSettings.hash_every),
    )
    if settings.mode == "sync" and not settings.listen:
        raise ReplicationConfigError("replication.mode = 'sync' needs replication.listen")
    return settings


ENVIRON = {
    "listen": "STX_REPLICATION_LISTEN",
    "mode": "STX_REPLICATION_MODE",
    "on_timeout": "STX_REPLICATION_ON_TIMEOUT",
    "timeout_ms": "STX_REPLICATION_TIMEOUT_MS",
    "hash_every": "STX_REPLICATION_HASH_EVERY",
}
"""The variables that set the primary's keys over the file: a container
(the Helm chart's core) opens its standby listener without a file of its own."""

_NUMBERS = ("timeout_ms", "hash_every")


def replication_from_environ(
    settings: ReplicationSettings, environ: Mapping[str, str]
) -> ReplicationSettings:
    """``STX_REPLICATION_*`` over the file's ``[replication]``, checked as the
    file is (a bad value names its variable)."""
    table: dict[str, Any] = asdict(settings)
    named = {key: variable for key, variable in ENVIRON.items() if variable in environ}
    for key, variable in named.items():
        raw = environ[variable]
        if key in _NUMBERS:
            try:
                table[key] = int(raw)
            except ValueError:
                raise ReplicationConfigError(f"{variable}: {raw!r} is not a number") from None
        else:
            table[key] = raw
    try:
        return parse_replication(table)
    except ReplicationConfigError as error:
        message = str(error)
        for key, variable in named.items():
            message = message.replace(f"replication.{key}:", f"{variable}:")
        raise ReplicationConfigError(message) from None
