"""The ``[tls]`` section of the configuration and its ``STX_TLS_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


class TlsConfigError(ValueError):
    """A ``[tls]`` value cannot be used; the message names the key."""


@dataclass(frozen=True)
class TlsSettings:
    enabled: bool = True
    """TLS on the gRPC port and the REST bridge; off only where a test or a
    benchmark says so (or behind a proxy that terminates TLS)."""
    cert_file: Path | None = None
    """The server's certificate chain (PEM); None: the local CA's, generated
    in ``<data dir>/tls``."""
    key_file: Path | None = None
    ca_file: Path | None = None
    """The CA that signs client certificates and, for the exchange's own
    services, the server's; None: the local CA."""
    require_client_cert: bool = False
    """Mutual TLS on the gRPC port: a client without a certificate from
    ``ca_file`` fails the handshake."""
    client_cert_file: Path | None = None
    """The certificate the exchange's own services (the REST bridge) present
    to the gRPC port; None: the local CA's internal client certificate."""
    client_key_file: Path | None = None
    curve: bool = True
    """CurveZMQ on the market data feed (when ``enabled``)."""

    @property
    def feed_encrypted(self) -> bool:
        return self.enabled and self.curve


_PATHS = ("cert_file", "key_file", "ca_file", "client_cert_file", "client_key_file")
_FLAGS = ("enabled", "require_client_cert", "curve")


def parse_tls(table: Mapping[str, Any]) -> TlsSettings:
    unknown = set(table) - {field.name for field in fields(TlsSettings)}
    if unknown:
        raise TlsConfigError(f"tls: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name in _FLAGS:
        if name in table:
            if not isinstance(table[name], bool):
                raise TlsConfigError(f"tls.{name}: expected true or false, got {table[name]!r}")
            values[name] = table[name]
    for name in _PATHS:
        if name in table:
            if not isinstance(table[name], str) or not table[name]:
                raise TlsConfigError(f"tls.{name}: expected a file path, got {table[name]!r}")
            values[name] = Path(table[name])
    return checked(TlsSettings(**values))


def tls_from_environ(tls: TlsSettings, environ: Mapping[str, str]) -> TlsSettings:
    """``tls`` with the ``STX_TLS_*`` variables of ``environ`` applied."""
    values: dict[str, Any] = {}
    for name in _FLAGS:
        raw = environ.get(f"STX_TLS_{name.upper()}")
        if raw is not None:
            lowered = raw.strip().lower()
            if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise TlsConfigError(f"STX_TLS_{name.upper()}: {raw!r} is not true or false")
            values[name] = lowered in ("1", "true", "yes", "on")
    for name in _PATHS:
        raw = environ.get(f"STX_TLS_{name.upper()}")
        if raw is not None:
            values[name] = Path(raw) if raw else None
    return checked(replace(tls, **values))


def checked(tls: TlsSettings) -> TlsSettings:
    if (tls.cert_file is None) != (tls.key_file is None):
        raise TlsConfigError("tls.cert_file and tls.key_file go together")
    if (tls.client_cert_file is None) != (tls.client_key_file is None):
        raise TlsConfigError("tls.client_cert_file and tls.client_key_file go together")
    if tls.ca_file is not None and tls.cert_file is None:
        raise TlsConfigError(
            "tls.ca_file goes with tls.cert_file and tls.key_file; without them the local CA "
            "in <data dir>/tls signs everything"
        )
    if tls.cert_file is not None and tls.ca_file is None:
        raise TlsConfigError(
            "tls.cert_file needs tls.ca_file: the CA the REST bridge verifies the server with"
        )
    if tls.cert_file is not None and tls.require_client_cert and tls.client_cert_file is None:
        raise TlsConfigError(
            "tls.require_client_cert with your own certificates needs tls.client_cert_file "
            "and tls.client_key_file: the REST bridge presents them to the gRPC port"
        )
    return tls
