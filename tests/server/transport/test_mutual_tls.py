"""Mutual TLS: ``[tls] require_client_cert`` on the gRPC port, and the REST
bridge presenting the internal client certificate the local CA issued."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.transport import ClientTls, channel
from server.app import Exchange
from server.transport.pki import ensure_local_pki
from server.transport.settings import TlsSettings
from tests.server.local import local_settings
from tests.server.transport.running import RunningExchange
from tests.server.transport.tls_peers import negotiated, s_client


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    tls = TlsSettings(require_client_cert=True)
    with RunningExchange(local_settings(tmp_path_factory.mktemp("mtls"), tls=tls)) as running:
        yield running


def _tls_dir(exchange: Exchange) -> Path:
    return Path(exchange.settings.data_dir) / "tls"


def _health(exchange: Exchange, tls: ClientTls) -> health_pb2.HealthCheckResponse.ServingStatus:
    with channel(f"127.0.0.1:{exchange.port}", tls) as checking:
        answer = health_pb2_grpc.HealthStub(checking).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return answer.status


def test_openssl_without_a_client_certificate_is_refused(exchange: Exchange) -> None:
    directory = _tls_dir(exchange)
    ca = str(directory / "ca.pem")
    # TLS 1.3 ends the client's side of the handshake before the server has
    # checked its (empty) Certificate: the refusal is the server hanging up
    # (gRPC closes without an alert) while s_client stays connected. (gRPC
    # also hangs up on a client that does not ask for HTTP/2 by ALPN.)
    refused = s_client(exchange.port, "-tls1_3", "-alpn", "h2", "-CAfile", ca, hold=1.5)
    assert "unexpected eof while reading" in refused, refused
    accepted = s_client(
        exchange.port, "-tls1_3", "-alpn", "h2", "-CAfile", ca,
        "-cert", str(directory / "client.pem"), "-key", str(directory / "client-key.pem"),
        hold=1.5,
    )  # fmt: skip
    assert negotiated(accepted)[0] == "TLSv1.3"
    assert "unexpected eof" not in accepted, accepted


def test_grpc_calls_need_a_certificate_from_the_exchange_ca(
    exchange: Exchange, tmp_path: Path
) -> None:
    directory = _tls_dir(exchange)
    with pytest.raises(grpc.RpcError) as without:
        _health(exchange, ClientTls(directory / "ca.pem"))
    assert without.value.code() is grpc.StatusCode.UNAVAILABLE
    stranger = ensure_local_pki(tmp_path / "other")  # a client certificate of another CA
    with pytest.raises(grpc.RpcError) as foreign:
        _health(
            exchange, ClientTls(directory / "ca.pem", stranger.client_cert, stranger.client_key)
        )
    assert foreign.value.code() is grpc.StatusCode.UNAVAILABLE
    internal = ClientTls(
        directory / "ca.pem", directory / "client.pem", directory / "client-key.pem"
    )
    assert _health(exchange, internal) == health_pb2.HealthCheckResponse.SERVING


def test_the_rest_bridge_reaches_a_port_that_requires_client_certificates(
    exchange: Exchange,
) -> None:
    context = ssl.create_default_context(cafile=_tls_dir(exchange) / "ca.pem")
    url = f"https://127.0.0.1:{exchange.rest_port}/market-data/AAPL"
    with urllib.request.urlopen(url, timeout=10, context=context) as answer:
        assert answer.status == 200
        assert b'"symbol":"AAPL"' in answer.read().replace(b" ", b"")
