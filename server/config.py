"""Server settings: defaults, then a TOML file, then ``STX_*`` environment variables.

Prices in the file are decimal strings ("190.00"); they become the engine's
fixed-point integers (4 implied decimals) here, and a value that does not fit
that grid is an error, never rounded.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from matching import Instrument
from server.committed.settings import (
    RelayConfigError,
    RelaySettings,
    parse_relay,
    relay_from_environ,
)
from server.config_values import ConfigError, parse_fixed
from server.fix_config import FixConfigError, FixSettings, parse_fix
from server.logs import LOG_FORMATS, LOG_LEVELS
from server.replication.settings import (
    ReplicationConfigError,
    ReplicationSettings,
    parse_replication,
    replication_from_environ,
)
from server.risk_config import RiskConfigError, RiskSettings, parse_risk
from server.secret_values import redact_url
from server.tracing.settings import (
    TracingConfigError,
    TracingSettings,
    parse_tracing,
    tracing_from_environ,
)
from server.transport.settings import TlsConfigError, TlsSettings, parse_tls, tls_from_environ

DURABILITIES = ("always", "batch", "none")

__all__ = ["ConfigError", "Settings", "from_mapping", "load", "parse_fixed"]
"""ConfigError and parse_fixed live in ``config_values.py`` (the risk section's
parser uses them too); they are offered here as ever."""


@dataclass(frozen=True)
class Settings:
    listen_address: str = "127.0.0.1"
    """The address every listener binds (gRPC, REST, both ZeroMQ ports):
    loopback unless opened on purpose ("0.0.0.0" or "::" in a container)."""
    grpc_port: int = 50051
    rest_port: int = 8080
    """The REST bridge (HTTP); 0 picks a free port on 127.0.0.1 (tests)."""
    cors_origins: tuple[str, ...] = ("http://localhost:3000",)
    """Web origins allowed to call the REST bridge from a browser."""
    feed_port: int = 5556
    """ZeroMQ PUB of market data; 0 picks a free port on 127.0.0.1 (tests)."""
    snapshot_port: int = 5557
    """ZeroMQ ROUTER answering snapshot requests; 0 as for ``feed_port``."""
    metrics_port: int = 9100
    """The base of the Prometheus ``/metrics`` ports: each role serves on
    base + its offset (core 1 .. rest 6, ``server/metrics/exposition.py``);
    0 turns them off."""
    data_dir: Path = Path("./data")
    durability: str = "batch"
    fsync_interval_ms: int = 5
    snapshot_every: int = 1_000_000
    database_url: str = ""
    """The store: ``postgresql://...`` or ``sqlite:///path``; empty means a
    SQLite file in the data directory."""
    redis_url: str = ""
    """Shared state and the event bus: ``redis://...``; empty means in-process."""
    auth_required: bool = True
    """Whether every non-public RPC needs an access token (see server/auth)."""
    token_issuer: str = "stocktraderx"
    token_audience: str = "stocktraderx-api"
    oidc_issuer: str = ""
    """An external OpenID Connect issuer whose tokens are accepted too; empty: none."""
    oidc_jwks_url: str = ""
    oidc_audience: str = ""
    oidc_roles_claim: str = "roles"
    pkcs11_module: str = ""
    """A PKCS#11 library holding the token-signing keys; empty: key files
    in ``<data dir>/keys/``. Its PIN comes from STX_PKCS11_PIN[_FILE] only."""
    pkcs11_token: str = ""
    """The label of the token in that library."""
    fee_bps: int = 0
    """The trading fee the P&L statements charge, in basis points of each
    fill's notional (``[analytics] fee_bps``); 0: none configured."""
    instruments: tuple[Instrument, ...] = field(default_factory=tuple)
    risk: RiskSettings = field(default_factory=RiskSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    fix: FixSettings = field(default_factory=FixSettings)
    log_format: str = "console"
    """``console`` (text, ``make run``) or ``json`` (one object a line, for
    deployments); see docs/operations.md, "Logs"."""
    log_level: str = "info"
    tracing: TracingSettings = field(default_factory=TracingSettings)
    """OpenTelemetry traces over OTLP: off unless a collector is named."""
    relay: RelaySettings = field(default_factory=RelaySettings)
    """The committed log: the relay's (``[relay] url``), or this host's source."""
    replication: ReplicationSettings = field(default_factory=ReplicationSettings)
    """The core's standby listener and sync mode; the standby's primary."""


def _int(table: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}")
    return value


def _instrument(table: Mapping[str, Any], index: int) -> Instrument:
    where = f"instruments[{index}]"
    unknown = set(table) - {
        "symbol",
        "tick_size",
        "lot_size",
        "max_order_quantity",
        "reference_price",
        "price_band_percent",
        "volatility_band_percent",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    symbol = table.get("symbol")
    if not isinstance(symbol, str):
        raise ConfigError(f"{where}.symbol: expected a string")
    instrument = Instrument(
        symbol=symbol,
        tick_size=parse_fixed(table.get("tick_size"), f"{where}.tick_size"),
        lot_size=_int(table, "lot_size", where, 1),
        max_order_quantity=_int(table, "max_order_quantity", where, 1_000_000_000),
        price_band_bps=parse_fixed(
            table.get("price_band_percent", "0"), f"{where}.price_band_percent", 100
        ),
        reference_price=parse_fixed(table.get("reference_price", "0"), f"{where}.reference_price"),
        volatility_band_bps=parse_fixed(
            table.get("volatility_band_percent", "0"), f"{where}.volatility_band_percent", 100
        ),
    )
    reason = instrument.validation_error()
    if reason is not None:
        raise ConfigError(f"{where} ({symbol}): {reason.name.lower().replace('_', ' ')}")
    return instrument


def from_mapping(document: Mapping[str, Any]) -> Settings:
    unknown = set(document) - {
        "server", "journal", "store", "auth", "keys", "instruments", "risk", "tls", "fix",
        "analytics", "tracing", "relay", "replication",
    }  # fmt: skip
    if unknown:
        raise ConfigError(f"unknown sections {sorted(unknown)}")
    server = document.get("server", {})
    journal = document.get("journal", {})
    store = document.get("store", {})
    database_url = store.get("database_url", "")
    if not isinstance(database_url, str):
        raise ConfigError(f"store.database_url: expected a string, got {database_url!r}")
    redis_url = store.get("redis_url", "")
    if not isinstance(redis_url, str):
        raise ConfigError(f"store.redis_url: expected a string, got {redis_url!r}")
    unknown_store = set(store) - {"database_url", "redis_url"}
    if unknown_store:
        raise ConfigError(f"store: unknown keys {sorted(unknown_store)}")
    auth = document.get("auth", {})
    unknown_auth = set(auth) - {
        "required", "issuer", "audience", "oidc_issuer", "oidc_jwks_url", "oidc_audience",
        "oidc_roles_claim",
    }  # fmt: skip
    if unknown_auth:
        raise ConfigError(f"auth: unknown keys {sorted(unknown_auth)}")
    keys = _keys(document.get("keys", {}))
    analytics = document.get("analytics", {})
    if set(analytics) - {"fee_bps"}:
        raise ConfigError(f"analytics: unknown keys {sorted(set(analytics) - {'fee_bps'})}")
    required = auth.get("required", Settings.auth_required)
    if not isinstance(required, bool):
        raise ConfigError(f"auth.required: expected true or false, got {required!r}")
    instruments = tuple(
        _instrument(table, index) for index, table in enumerate(document.get("instruments", []))
    )
    symbols = [instrument.symbol for instrument in instruments]
    duplicates = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    if duplicates:
        raise ConfigError(f"instruments: duplicate symbols {duplicates}")
    try:
        risk = parse_risk(document.get("risk", {}))
        tls = parse_tls(document.get("tls", {}))
        fix = parse_fix(document.get("fix", {}))
        tracing = parse_tracing(document.get("tracing", {}))
        relay = parse_relay(document.get("relay", {}))
        replication = parse_replication(document.get("replication", {}))
    except (
        RiskConfigError, TlsConfigError, FixConfigError, TracingConfigError, RelayConfigError,
        ReplicationConfigError,
    ) as error:  # fmt: skip
        raise ConfigError(str(error)) from None
    listen_address = server.get("listen_address", Settings.listen_address)
    if not isinstance(listen_address, str) or not listen_address:
        raise ConfigError(f"server.listen_address: expected an address, got {listen_address!r}")
    settings = Settings(
        listen_address=listen_address,
        grpc_port=_int(server, "grpc_port", "server", Settings.grpc_port),
        rest_port=_int(server, "rest_port", "server", Settings.rest_port),
        feed_port=_int(server, "feed_port", "server", Settings.feed_port),
        snapshot_port=_int(server, "snapshot_port", "server", Settings.snapshot_port),
        metrics_port=_int(server, "metrics_port", "server", Settings.metrics_port),
        data_dir=Path(server.get("data_dir", str(Settings.data_dir))),
        log_format=str(server.get("log_format", Settings.log_format)),
        log_level=str(server.get("log_level", Settings.log_level)),
        durability=str(journal.get("durability", Settings.durability)),
        fsync_interval_ms=_int(journal, "fsync_interval_ms", "journal", 5),
        snapshot_every=_int(journal, "snapshot_every", "journal", 1_000_000),
        database_url=database_url,
        redis_url=redis_url,
        auth_required=required,
        token_issuer=str(auth.get("issuer", Settings.token_issuer)),
        token_audience=str(auth.get("audience", Settings.token_audience)),
        oidc_issuer=str(auth.get("oidc_issuer", "")),
        oidc_jwks_url=str(auth.get("oidc_jwks_url", "")),
        oidc_audience=str(auth.get("oidc_audience", "")),
        oidc_roles_claim=str(auth.get("oidc_roles_claim", "roles")),
        pkcs11_module=keys.get("pkcs11_module", ""),
        pkcs11_token=keys.get("pkcs11_token", ""),
        fee_bps=_int(analytics, "fee_bps", "analytics", 0),
        instruments=instruments,
        risk=risk,
        tls=tls,
        fix=fix,
        tracing=tracing,
        relay=relay,
        replication=replication,
    )
    return _checked(settings)


def _keys(table: Mapping[str, Any]) -> dict[str, str]:
    if "pkcs11_pin" in table:
        raise ConfigError(
            "keys.pkcs11_pin: the PIN is never read from the configuration file; "
            "set STX_PKCS11_PIN or STX_PKCS11_PIN_FILE"
        )
    unknown = set(table) - {"pkcs11_module", "pkcs11_token"}
    if unknown:
        raise ConfigError(f"keys: unknown keys {sorted(unknown)}")
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(f"keys.{key}: expected a string, got {value!r}")
    return dict(table)


def _checked(settings: Settings) -> Settings:
    try:
        ipaddress.ip_address(settings.listen_address)
    except ValueError:
        raise ConfigError(
            f"listen_address: {settings.listen_address!r} is not an IP address "
            "(127.0.0.1, 0.0.0.0, ::1, ::)"
        ) from None
    if settings.log_format not in LOG_FORMATS:
        raise ConfigError(f"log_format: {settings.log_format!r} is not one of {LOG_FORMATS}")
    if settings.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level: {settings.log_level!r} is not one of {LOG_LEVELS}")
    if not 0 < settings.grpc_port < 65536:
        raise ConfigError(f"grpc_port: {settings.grpc_port} is not a TCP port")
    for name in ("rest_port", "feed_port", "snapshot_port"):
        if not 0 <= getattr(settings, name) < 65536:
            raise ConfigError(f"{name}: {getattr(settings, name)} is not a TCP port")
    if not 0 <= settings.metrics_port < 65536 - 6:  # the rest's offset must fit too
        raise ConfigError(f"metrics_port: {settings.metrics_port} leaves no room for base + 6")
    if settings.durability not in DURABILITIES:
        raise ConfigError(f"durability: {settings.durability!r} is not one of {DURABILITIES}")
    if not 0 <= settings.fee_bps <= 10_000:
        raise ConfigError(f"fee_bps: {settings.fee_bps} is not 0-10000 basis points")
    if settings.fsync_interval_ms <= 0 or settings.snapshot_every <= 0:
        raise ConfigError("fsync_interval_ms and snapshot_every must be positive")
    if settings.database_url and not settings.database_url.startswith(
        (
            "postgresql://",
            "postgres://",
            "postgresql+asyncpg://",
            "sqlite://",
            "sqlite+aiosqlite://",
        )
    ):
        raise ConfigError(
            f"database_url: {redact_url(settings.database_url)!r} is neither "
            "postgresql://... nor sqlite:///..."
        )
    if settings.oidc_issuer and not (settings.oidc_jwks_url and settings.oidc_audience):
        raise ConfigError("oidc_issuer needs oidc_jwks_url and oidc_audience as well")
    if settings.redis_url and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ConfigError(f"redis_url: {redact_url(settings.redis_url)!r} is not a redis:// URL")
    if settings.pkcs11_module and not settings.pkcs11_token:
        raise ConfigError("keys.pkcs11_module needs keys.pkcs11_token (the token's label)")
    return settings


def _origins(text: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in text.split(",") if origin.strip())


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def load(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from ``path`` (the demo configuration if None) and ``environ``."""
    try:
        if path is None:
            text = resources.files("server").joinpath("demo.toml").read_text()
        else:
            text = path.read_text()
        document = tomllib.loads(text)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path or 'demo.toml'}: {error}") from None
    settings = from_mapping(document)
    overrides: dict[str, Any] = {}
    for name, convert in (
        ("listen_address", str),
        ("grpc_port", int),
        ("rest_port", int),
        ("feed_port", int),
        ("snapshot_port", int),
        ("metrics_port", int),
        ("data_dir", Path),
        ("durability", str),
        ("fsync_interval_ms", int),
        ("snapshot_every", int),
        ("fee_bps", int),
        ("database_url", str),
        ("redis_url", str),
        ("auth_required", _boolean),
        ("oidc_issuer", str),
        ("oidc_jwks_url", str),
        ("oidc_audience", str),
        ("cors_origins", _origins),
        ("pkcs11_module", str),
        ("pkcs11_token", str),
        ("log_format", str),
        ("log_level", str),
    ):
        raw = environ.get(f"STX_{name.upper()}")
        if raw is not None:
            try:
                overrides[name] = convert(raw)
            except ValueError:
                raise ConfigError(f"STX_{name.upper()}: {raw!r} is not valid") from None
    raw = environ.get("STX_RISK_ENFORCE_LIMITS")
    if raw is not None:
        try:
            overrides["risk"] = replace(settings.risk, enforce_limits=_boolean(raw))
        except ValueError:
            raise ConfigError(f"STX_RISK_ENFORCE_LIMITS: {raw!r} is not valid") from None
    try:
        overrides["tls"] = tls_from_environ(settings.tls, environ)
        overrides["tracing"] = tracing_from_environ(settings.tracing, environ)
        overrides["relay"] = relay_from_environ(settings.relay, environ)
        overrides["replication"] = replication_from_environ(settings.replication, environ)
    except (
        TlsConfigError, TracingConfigError, RelayConfigError, ReplicationConfigError,
    ) as error:  # fmt: skip
        raise ConfigError(str(error)) from None
    return _checked(replace(settings, **overrides))
