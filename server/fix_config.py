"""The ``[fix]`` section of the configuration: the FIX gateway's sessions.

```toml
[fix]
port = 9878                 # the FIX acceptor's TCP port
reset_on_logon = false      # true: both sequence numbers restart at 1 on every Logon

[[fix.sessions]]            # one per counterparty; none: no FIX gateway runs
begin_string = "FIX.4.4"    # or "FIX.4.2"
sender_comp_id = "STX"      # ours
target_comp_id = "ACME"     # the counterparty's SenderCompID
accounts = ["acme-1"]       # its orders' accounts; the first when Account (1) is absent
username = "acme"           # sign-in: the Logon must carry this Username (553) and its
                            # Password (554), checked by the user directory; the user's
                            # accounts (those of them listed in `accounts`, if any) are used
```

A session without `username` is trusted by its CompIDs alone (a private line)
and must list its `accounts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_PORT = 9878
VERSIONS = ("FIX.4.2", "FIX.4.4")


class FixConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FixSessionSettings:
    begin_string: str
    sender_comp_id: str
    target_comp_id: str
    accounts: tuple[str, ...]
    username: str = ""


@dataclass(frozen=True, slots=True)
class FixSettings:
    port: int = DEFAULT_PORT
    reset_on_logon: bool = False
    sessions: tuple[FixSessionSettings, ...] = ()


def _text(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise FixConfigError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _session(table: Mapping[str, Any], where: str) -> FixSessionSettings:
    unknown = set(table) - {
        "begin_string", "sender_comp_id", "target_comp_id", "accounts", "username",
    }  # fmt: skip
    if unknown:
        raise FixConfigError(f"{where}: unknown keys {sorted(unknown)}")
    begin_string = _text(table, "begin_string", where, "FIX.4.4")
    if begin_string not in VERSIONS:
        raise FixConfigError(f"{where}.begin_string: one of {', '.join(VERSIONS)}")
    username = table.get("username", "")
    if not isinstance(username, str):
        raise FixConfigError(f"{where}.username: expected a string, got {username!r}")
    accounts = table.get("accounts", [])
    if not isinstance(accounts, list) or not all(isinstance(a, str) and a for a in accounts):
        raise FixConfigError(f"{where}.accounts: expected a list of account ids, got {accounts!r}")
    if not accounts and not username:
        raise FixConfigError(f"{where}: a session needs a username (sign-in) or its accounts")
    return FixSessionSettings(
        begin_string,
        _text(table, "sender_comp_id", where, "STX"),
        _text(table, "target_comp_id", where),
        tuple(accounts),
        username,
    )


def parse_fix(table: Mapping[str, Any]) -> FixSettings:
    unknown = set(table) - {"port", "reset_on_logon", "sessions"}
    if unknown:
        raise FixConfigError(f"fix: unknown keys {sorted(unknown)}")
    port = table.get("port", DEFAULT_PORT)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise FixConfigError(f"fix.port: expected a port number, got {port!r}")
    reset = table.get("reset_on_logon", False)
    if not isinstance(reset, bool):
        raise FixConfigError(f"fix.reset_on_logon: expected true or false, got {reset!r}")
    raw = table.get("sessions", [])
    if not isinstance(raw, list):
        raise FixConfigError("fix.sessions: expected an array of tables")
    sessions = tuple(_session(t, f"fix.sessions[{i}]") for i, t in enumerate(raw))
    identities = [(s.begin_string, s.sender_comp_id, s.target_comp_id) for s in sessions]
    if len(set(identities)) != len(identities):
        raise FixConfigError("fix.sessions: two sessions with the same identity")
    return FixSettings(port, reset, sessions)
