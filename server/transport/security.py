"""The TLS of a running exchange: its certificates on the gRPC port and the
REST bridge, the credentials of its own clients, and renewal while it runs."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import ssl
from pathlib import Path

import grpc

from server import TLS13_ONLY_CIPHER_SUITES
from server.transport.credentials import (
    ServerCertificates,
    TlsFileError,
    fingerprint,
    grpc_channel_credentials,
    https_context,
    load_certificate,
    resolve,
)
from server.transport.settings import TlsSettings

_log = logging.getLogger("stx.serve")
CHECK_SECONDS = 3_600
"""How often a running exchange looks for a certificate due for renewal."""


class ServerTls:
    def __init__(self, settings: TlsSettings, data_dir: Path) -> None:
        self._settings = settings
        self._data_dir = data_dir
        self.material = resolve(settings, data_dir)
        self._served = fingerprint(self.material)
        """The certificate files as loaded into the listeners."""
        self._ca_pem = self.material.ca.read_bytes()
        self._certificates = ServerCertificates(self.material, settings.require_client_cert)
        self._https = https_context(self.material)

    @property
    def grpc_credentials(self) -> grpc.ServerCredentials:
        return self._certificates.credentials

    @property
    def https(self) -> ssl.SSLContext:
        return self._https

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """For the exchange's own REST bridge: mutual TLS to its gRPC port."""
        return grpc_channel_credentials(self.material)

    def describe(self) -> str:
        """What the gRPC port offers, for the start-up line."""
        suites = os.environ.get("GRPC_SSL_CIPHER_SUITES")
        if suites != TLS13_ONLY_CIPHER_SUITES:
            _log.warning("GRPC_SSL_CIPHER_SUITES is %r: the gRPC port may accept TLS 1.2", suites)
        required = ", client certificates required" if self._settings.require_client_cert else ""
        return f"TLS 1.3{required}; clients verify it with {self.material.ca}"

    def renew(self, now: datetime.datetime | None = None) -> bool:
        """Renew the local CA's certificates if due at ``now`` (or take changed
        configured files) and serve them from the next connection on; whether
        anything changed. A new CA also needs a restart: the bridge's channel
        and every client trust the old one until then."""
        renewed = resolve(self._settings, self._data_dir, now)
        served = fingerprint(renewed)
        if served == self._served:
            return False
        if renewed.ca.read_bytes() != self._ca_pem:
            _log.warning("the TLS CA changed (%s): restart the exchange and give clients the new "
                         "ca.pem", renewed.ca)  # fmt: skip
        self._certificates.replace(renewed)
        load_certificate(self._https, renewed)
        self.material, self._served = renewed, served
        _log.info("TLS certificate %s renewed", renewed.cert)
        return True

    async def renew_periodically(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                self.renew()
            except TlsFileError as error:  # an operator's file half-written: next hour
                _log.warning("certificates not renewed: %s", error)
