"""TLS material for the listeners and the exchange's own client channels.

gRPC (grpcio's BoringSSL) has no Python option for the protocol version; the
exchange restricts it to TLS 1.3 through ``GRPC_SSL_CIPHER_SUITES`` (see
``clients/__init__.py``). The REST bridge (aiohttp over the ``ssl`` module)
sets ``minimum_version`` to TLS 1.3 directly.
"""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

from server.transport.pki import ensure_local_pki
from server.transport.settings import TlsSettings


class TlsFileError(ValueError):
    """A configured certificate, key or CA file cannot be read."""


@dataclass(frozen=True)
class TlsMaterial:
    """The files in use: the server's pair, the CA, and the internal client pair."""

    cert: Path
    key: Path
    ca: Path
    client_cert: Path | None
    client_key: Path | None


def resolve(tls: TlsSettings, data_dir: Path, now: datetime.datetime | None = None) -> TlsMaterial:
    """The configured files, or the local CA's (created, or renewed if due at ``now``)."""
    if tls.cert_file is not None and tls.key_file is not None and tls.ca_file is not None:
        material = TlsMaterial(
            tls.cert_file, tls.key_file, tls.ca_file, tls.client_cert_file, tls.client_key_file
        )
    else:
        pki = ensure_local_pki(data_dir / "tls", now)
        client = (tls.client_cert_file, tls.client_key_file)
        if client[0] is None:
            client = (pki.client_cert, pki.client_key)
        material = TlsMaterial(pki.server_cert, pki.server_key, pki.ca, client[0], client[1])
    for path in (material.cert, material.key, material.ca, material.client_cert,
                 material.client_key):  # fmt: skip
        if path is not None and not path.is_file():
            raise TlsFileError(f"tls: cannot read {path}")
    return material


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsFileError(f"tls: cannot read {path}: {error.strerror}") from None


class ServerCertificates:
    """The gRPC server's certificate, replaceable while it runs: grpc asks
    ``_fetch`` before each new connection's handshake, and a renewed
    certificate handed to ``replace`` is used from the next connection on."""

    def __init__(self, material: TlsMaterial, require_client_cert: bool) -> None:
        self._require_client_cert = require_client_cert
        self._pending: grpc.ServerCertificateConfiguration | None = None
        self.credentials = grpc.dynamic_ssl_server_credentials(
            self._configuration(material),
            self._fetch,  # type: ignore[arg-type]  # grpc-stubs omit the documented None
            require_client_cert,
        )

    def _configuration(self, material: TlsMaterial) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(_read(material.key), _read(material.cert))],
            root_certificates=_read(material.ca) if self._require_client_cert else None,
        )

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        # Called on grpc's threads; one reference swap, nothing to lock.
        pending, self._pending = self._pending, None
        return pending

    def replace(self, material: TlsMaterial) -> None:
        self._pending = self._configuration(material)


def grpc_channel_credentials(material: TlsMaterial) -> grpc.ChannelCredentials:
    """The credentials of the exchange's own services calling its gRPC port:
    the server verified against the CA, the internal client certificate shown."""
    key = cert = None
    if material.client_cert is not None and material.client_key is not None:
        key, cert = _read(material.client_key), _read(material.client_cert)
    return grpc.ssl_channel_credentials(_read(material.ca), key, cert)


def https_context(material: TlsMaterial) -> ssl.SSLContext:
    """The REST bridge's server context: TLS 1.3 only. Browsers have no client
    certificates, so the bridge asks for none; sign-in protects its routes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    load_certificate(context, material)
    context.set_alpn_protocols(["http/1.1"])
    return context


def load_certificate(context: ssl.SSLContext, material: TlsMaterial) -> None:
    """``material``'s pair into ``context``: connections from now on use it."""
    try:
        context.load_cert_chain(material.cert, material.key)
    except (OSError, ssl.SSLError) as error:
        raise TlsFileError(
            f"tls: cannot use {material.cert} with {material.key}: {error}"
        ) from None


def fingerprint(material: TlsMaterial) -> bytes:
    """What the listeners serve: changes when a certificate, key or CA does."""
    return b"".join(_read(path) for path in (material.cert, material.key, material.ca))
