"""The ``[replication]`` section: defaults, and every bad value named."""

from __future__ import annotations

import pytest

from server.config import ConfigError, from_mapping, load
from server.replication.settings import ReplicationSettings


def test_replication_is_off_and_async_by_default() -> None:
    replication = from_mapping({}).replication
    assert (replication.listen, replication.mode, replication.on_timeout) == ("", "async", "refuse")


def test_a_sync_primary_and_a_standby_read_from_the_file() -> None:
    primary = from_mapping(
        {"replication": {"listen": "10.0.0.5:7070", "mode": "sync", "timeout_ms": 250}}
    ).replication
    assert (primary.listen, primary.mode, primary.timeout_ms) == ("10.0.0.5:7070", "sync", 250)
    assert from_mapping({"replication": {"primary": "[::1]:7070"}}).replication.primary == (
        "[::1]:7070"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"mode": "quorum"}, "replication.mode: expected one of"),
        ({"mode": "sync"}, "needs replication.listen"),
        ({"listen": "7070"}, "replication.listen: expected HOST:PORT"),
        ({"primary": "host:port"}, "replication.primary: expected HOST:PORT"),
        ({"on_timeout": "wait"}, "replication.on_timeout"),
        ({"timeout_ms": 0}, "replication.timeout_ms: expected a positive integer"),
        ({"hash_every": True}, "replication.hash_every"),
        ({"lsten": "x"}, "replication: unknown keys ['lsten']"),
    ],
)
def test_a_bad_replication_value_is_named(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_mapping({"replication": table})


def test_the_replication_variables_set_the_primary_over_the_file() -> None:
    """The Helm chart's core has no file of its own (the demo configuration
    may be all it reads): STX_REPLICATION_* open its standby listener."""
    environ = {
        "STX_REPLICATION_LISTEN": "0.0.0.0:7070",
        "STX_REPLICATION_MODE": "sync",
        "STX_REPLICATION_ON_TIMEOUT": "degrade",
        "STX_REPLICATION_TIMEOUT_MS": "250",
        "STX_REPLICATION_HASH_EVERY": "5000",
    }
    replication = load(None, environ).replication
    assert replication == ReplicationSettings(
        listen="0.0.0.0:7070", mode="sync", on_timeout="degrade", timeout_ms=250, hash_every=5000
    )
    assert load(None, {}).replication == ReplicationSettings()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STX_REPLICATION_LISTEN": "7070"}, "STX_REPLICATION_LISTEN: expected HOST:PORT"),
        ({"STX_REPLICATION_MODE": "sync"}, "needs replication.listen"),
        ({"STX_REPLICATION_TIMEOUT_MS": "soon"}, "STX_REPLICATION_TIMEOUT_MS: 'soon' is not"),
        ({"STX_REPLICATION_HASH_EVERY": "0"}, "STX_REPLICATION_HASH_EVERY: expected a positive"),
    ],
)
def test_a_bad_replication_variable_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(None, environ)
