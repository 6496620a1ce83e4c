"""The ``[risk]`` section of the configuration: controls and limits per role.

```toml
[risk]
enforce_limits = true            # pre-trade limits on (the kill switch always is)
pause_seconds = 300              # volatility-band pause before the reopening auction
reopen_call_seconds = 60         # call phase after a circuit-breaker halt
market_protection_percent = "5"  # a buy market order trades at most this far
                                 # above the reference (a stop: its stop price)
circuit_breakers = [             # market index fall below the previous close
  { fall_percent = "7", halt_minutes = 15 },
  { fall_percent = "13", halt_minutes = 15 },
  { fall_percent = "20", halt_minutes = 0 },   # 0: halted for the day
]

[risk.defaults]                  # accounts whose owner has no role below
max_order_quantity = 100000
max_order_notional = "5000000.00"
price_collar_percent = "10"
max_position_quantity = 1000000
max_open_orders = 1000
max_messages_per_second = 500
allow_short_selling = false

[risk.roles.market_maker]        # trader, market_maker, risk_officer, admin
allow_short_selling = true       # unlisted keys keep the role's built-in value,
                                 # else the [risk.defaults] one
```

Limits become engine commands (``SetRiskLimits``, ``ConfigureControls``)
journaled at start-up and when accounts are created, so a replay of the
journal never depends on the configuration file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matching import DEFAULT_MARKET_PROTECTION_BPS, ConfigureControls, RiskLimits
from server.config_values import ConfigError, parse_fixed

_SECOND = 1_000_000_000
ROLES = ("trader", "market_maker", "risk_officer", "admin")
ROLE_PRECEDENCE = ("admin", "market_maker", "trader", "risk_officer")
"""When a user has several roles, the first of these that has limits applies."""
_LIMIT_KEYS = {
    "max_order_quantity",
    "max_order_notional",
    "price_collar_percent",
    "max_position_quantity",
    "max_open_orders",
    "max_messages_per_second",
    "allow_short_selling",
}


class RiskConfigError(ValueError):
    """The risk section cannot be used; the message names the key."""


DEFAULT_LIMITS = RiskLimits(
    max_order_quantity=100_000,
    max_order_notional=5_000_000_0000,
    price_collar_bps=1_000,
    max_position_quantity=1_000_000,
    max_open_orders=1_000,
    max_messages_per_second=500,
    allow_short_selling=False,
)
DEFAULT_ROLE_LIMITS: dict[str, RiskLimits] = {
    "market_maker": DEFAULT_LIMITS._replace(
        max_order_notional=50_000_000_0000,
        max_position_quantity=10_000_000,
        max_open_orders=100_000,
        max_messages_per_second=20_000,
        allow_short_selling=True,
    ),
}
DEFAULT_BREAKERS: tuple[tuple[int, int], ...] = (
    (700, 900 * _SECOND),
    (1_300, 900 * _SECOND),
    (2_000, 0),
)


@dataclass(frozen=True)
class RiskSettings:
    enforce_limits: bool = True
    pause_ns: int = 300 * _SECOND
    reopen_call_ns: int = 60 * _SECOND
    breaker_levels: tuple[tuple[int, int], ...] = DEFAULT_BREAKERS
    market_protection_bps: int = DEFAULT_MARKET_PROTECTION_BPS
    defaults: RiskLimits = DEFAULT_LIMITS
    roles: Mapping[str, RiskLimits] = field(default_factory=lambda: dict(DEFAULT_ROLE_LIMITS))

    def controls(self, timestamp: int) -> ConfigureControls:
        return ConfigureControls(
            timestamp,
            self.enforce_limits,
            self.pause_ns,
            self.reopen_call_ns,
            self.breaker_levels,
            self.market_protection_bps,
        )

    def limits_for(self, roles: tuple[str, ...] | frozenset[str]) -> RiskLimits:
        """The limits a new account of a user with ``roles`` starts with."""
        for role in ROLE_PRECEDENCE:
            if role in roles and role in self.roles:
                return self.roles[role]
        return self.defaults


def _fixed(value: object, key: str, scale: int) -> int:
    try:
        return parse_fixed(value, key, scale)
    except ConfigError as error:
        raise RiskConfigError(str(error)) from None


def _whole(table: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RiskConfigError(f"{where}.{key}: expected a whole number >= 0, got {value!r}")
    return value


def _limits(table: object, where: str, base: RiskLimits) -> RiskLimits:
    if not isinstance(table, Mapping):
        raise RiskConfigError(f"{where}: expected a table")
    unknown = set(table) - _LIMIT_KEYS
    if unknown:
        raise RiskConfigError(f"{where}: unknown keys {sorted(unknown)}")
    values = base._asdict()
    for key in ("max_order_quantity", "max_position_quantity", "max_open_orders"):
        if key in table:
            values[key] = _whole(table, key, where, 0)
    if "max_messages_per_second" in table:
        values["max_messages_per_second"] = _whole(table, "max_messages_per_second", where, 0)
    if "max_order_notional" in table:
        values["max_order_notional"] = _fixed(
            table["max_order_notional"], f"{where}.max_order_notional", 10_000
        )
    if "price_collar_percent" in table:
        values["price_collar_bps"] = _fixed(
            table["price_collar_percent"], f"{where}.price_collar_percent", 100
        )
    if "allow_short_selling" in table:
        short = table["allow_short_selling"]
        if not isinstance(short, bool):
            raise RiskConfigError(f"{where}.allow_short_selling: expected true or false")
        values["allow_short_selling"] = short
    return RiskLimits(**values)


def parse_risk(table: Mapping[str, Any]) -> RiskSettings:
    unknown = set(table) - {
        "enforce_limits", "pause_seconds", "reopen_call_seconds", "circuit_breakers",
        "market_protection_percent", "defaults", "roles",
    }  # fmt: skip
    if unknown:
        raise RiskConfigError(f"risk: unknown keys {sorted(unknown)}")
    enforce = table.get("enforce_limits", True)
    if not isinstance(enforce, bool):
        raise RiskConfigError("risk.enforce_limits: expected true or false")
    levels: tuple[tuple[int, int], ...] = DEFAULT_BREAKERS
    if "circuit_breakers" in table:
        entries = table["circuit_breakers"]
        if not isinstance(entries, list):
            raise RiskConfigError("risk.circuit_breakers: expected a list of tables")
        parsed = []
        for index, entry in enumerate(entries):
            where = f"risk.circuit_breakers[{index}]"
            if not isinstance(entry, Mapping) or set(entry) != {"fall_percent", "halt_minutes"}:
                raise RiskConfigError(f"{where}: expected {{ fall_percent, halt_minutes }}")
            fall = _fixed(entry["fall_percent"], f"{where}.fall_percent", 100)
            halt = _whole(entry, "halt_minutes", where, 0) * 60 * _SECOND
            parsed.append((fall, halt))
        falls = [fall for fall, _ in parsed]
        if falls != sorted(set(falls)) or any(not 0 < fall < 10_000 for fall in falls):
            raise RiskConfigError("risk.circuit_breakers: falls must rise strictly within 0-100%")
        levels = tuple(parsed)
    protection = DEFAULT_MARKET_PROTECTION_BPS
    if "market_protection_percent" in table:
        protection = _fixed(
            table["market_protection_percent"], "risk.market_protection_percent", 100
        )
        if not 0 <= protection <= 10_000:
            raise RiskConfigError("risk.market_protection_percent: expected 0 to 100")
    defaults = _limits(table.get("defaults", {}), "risk.defaults", DEFAULT_LIMITS)
    roles_table = table.get("roles", {})
    if not isinstance(roles_table, Mapping):
        raise RiskConfigError("risk.roles: expected a table of roles")
    unknown_roles = set(roles_table) - set(ROLES)
    if unknown_roles:
        raise RiskConfigError(f"risk.roles: unknown roles {sorted(unknown_roles)}")
    roles = {
        role: _limits(limits, f"risk.roles.{role}", DEFAULT_ROLE_LIMITS.get(role, defaults))
        for role, limits in roles_table.items()
    }
    for role, limits in DEFAULT_ROLE_LIMITS.items():
        roles.setdefault(role, limits)
    return RiskSettings(
        enforce_limits=enforce,
        pause_ns=_whole(table, "pause_seconds", "risk", 300) * _SECOND,
        reopen_call_ns=_whole(table, "reopen_call_seconds", "risk", 60) * _SECOND,
        breaker_levels=levels,
        market_protection_bps=protection,
        defaults=defaults,
        roles=roles,
    )
