"""TLS 1.3 on the gRPC port and the REST bridge, and CurveZMQ on the feed, of an
exchange with the default transport settings (the local CA made on first start)."""

from __future__ import annotations

import asyncio
import ssl
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
import zmq
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stocktraderx.v1.market_data_pb2 import SubscribeMarketDataResponse

from clients.sdk import ExchangeClient, place_request
from clients.transport import ClientTls
from feeds import wire
from feeds.curve import read_key
from feeds.subscriber import SymbolFeed
from server.app import Exchange
from server.auth.access import ADMIN
from server.auth.directory import TRADER
from server.transport.settings import TlsSettings
from tests.server.local import local_settings, prepare_accounts
from tests.server.transport.running import RunningExchange
from tests.server.transport.tls_peers import TLS13_SUITES, negotiated, s_client


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningExchange]:
    settings = local_settings(tmp_path_factory.mktemp("tls"), tls=TlsSettings())
    server = RunningExchange(settings)
    with server:
        server.call(prepare_accounts(server.exchange, "TLS1", "TLS2"))
        yield server


@pytest.fixture
def exchange(running: RunningExchange) -> Exchange:
    return running.exchange


def _ca(exchange: Exchange) -> Path:
    return Path(exchange.settings.data_dir) / "tls" / "ca.pem"


def _token(exchange: Exchange) -> str:
    assert exchange.tokens is not None
    token, _ = exchange.tokens.issue("test:tls", (ADMIN, TRADER), lifetime=600)
    return token


@pytest.mark.parametrize("port_name", ["port", "rest_port"])
def test_grpc_and_rest_ports_negotiate_tls13_and_refuse_tls12(
    exchange: Exchange, port_name: str
) -> None:
    port = getattr(exchange, port_name)
    ca = str(_ca(exchange))
    modern = s_client(port, "-tls1_3", "-CAfile", ca, "-verify_hostname", "localhost")
    protocol, cipher = negotiated(modern)
    assert protocol == "TLSv1.3"
    assert cipher in TLS13_SUITES
    assert "Verify return code: 0 (ok)" in modern
    legacy = s_client(port, "-tls1_2", "-CAfile", ca)
    assert negotiated(legacy) == ("(NONE)", "(NONE)"), legacy


def test_grpc_offers_http2_over_alpn(exchange: Exchange) -> None:
    output = s_client(exchange.port, "-tls1_3", "-alpn", "h2", "-CAfile", str(_ca(exchange)))
    assert "ALPN protocol: h2" in output


def test_plaintext_clients_are_refused(exchange: Exchange) -> None:
    with (
        grpc.insecure_channel(f"127.0.0.1:{exchange.port}") as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{exchange.rest_port}/healthz", timeout=5)


def test_sdk_and_rest_clients_trade_and_read_over_tls(exchange: Exchange) -> None:
    tls = ClientTls(_ca(exchange))
    target = f"127.0.0.1:{exchange.port}"
    with ExchangeClient(target, token=_token(exchange), tls=tls) as client:
        placed = client.place(place_request("TLS1", "tls-1", "AAPL", "buy", 10, 1_890_000))
        assert placed.order.order_id > 0
    context = ssl.create_default_context(cafile=_ca(exchange))
    url = f"https://localhost:{exchange.rest_port}/market-data/AAPL/depth"
    with urllib.request.urlopen(url, timeout=10, context=context) as answer:
        assert answer.status == 200
        assert b"189" in answer.read()


def test_a_client_without_the_ca_does_not_trust_the_server(exchange: Exchange) -> None:
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(
            f"https://127.0.0.1:{exchange.rest_port}/healthz",
            timeout=5,
            context=ssl.create_default_context(),
        )


def test_local_ca_files_are_private_and_name_the_loopback_host(exchange: Exchange) -> None:
    directory = Path(exchange.settings.data_dir) / "tls"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for secret in ("ca-key.pem", "server-key.pem", "client-key.pem", "feed-server.secret"):
        assert stat.S_IMODE((directory / secret).stat().st_mode) == 0o600, secret
    server = x509.load_pem_x509_certificate((directory / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(address) for address in names.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "::1",
    }


def test_the_feed_says_nothing_to_a_subscriber_without_the_server_key(exchange: Exchange) -> None:
    feed = exchange.feed
    assert feed is not None
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    wrong_public, _ = zmq.curve_keypair()
    try:
        plain = context.socket(zmq.SUB)
        wrong = context.socket(zmq.SUB)
        public, secret = zmq.curve_keypair()
        wrong.curve_serverkey = wrong_public
        wrong.curve_publickey, wrong.curve_secretkey = public, secret
        for socket in (plain, wrong):
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.SUBSCRIBE, b"")
            socket.connect(feed.publish_endpoint)
        asker = context.socket(zmq.DEALER)
        asker.setsockopt(zmq.LINGER, 0)
        asker.connect(feed.snapshot_endpoint)
        asker.send_multipart([b"SNAPSHOT", wire.L2.encode(), b"AAPL"])
        # Heartbeats go out on every channel each second: 2.5 s would hear some.
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            for socket in (plain, wrong, asker):
                assert not socket.poll(100), "received over an encrypted feed without its key"
    finally:
        context.destroy(linger=0)


def test_the_feed_with_the_server_key_gives_snapshots_and_updates(exchange: Exchange) -> None:
    feed = exchange.feed
    assert feed is not None
    key = read_key(Path(exchange.settings.data_dir) / "tls" / "feed-server.pub")
    subscriber = SymbolFeed(
        feed.publish_endpoint, feed.snapshot_endpoint, "MSFT", (wire.L2,), server_key=key
    )
    try:
        subscriber.poll(200)
        assert subscriber.snapshots == 1
        time.sleep(0.5)  # the subscription reaches the publisher
        with ExchangeClient(
            f"127.0.0.1:{exchange.port}", token=_token(exchange), tls=ClientTls(_ca(exchange))
        ) as client:
            client.place(place_request("TLS2", "tls-feed", "MSFT", "sell", 7, 4_250_000))
        updates: list[SubscribeMarketDataResponse] = []
        deadline = time.monotonic() + 10
        while not updates and time.monotonic() < deadline:
            updates = subscriber.poll(200)
        assert updates, "no update over the encrypted feed"
        assert any(change.quantity == 7 for change in updates[0].depth_update.changes)
    finally:
        subscriber.close()


def test_the_websocket_streams_market_data_over_tls(exchange: Exchange) -> None:
    async def first_message() -> dict[str, object]:
        context = ssl.create_default_context(cafile=_ca(exchange))
        url = f"wss://localhost:{exchange.rest_port}/ws"
        async with aiohttp.ClientSession() as http, http.ws_connect(url, ssl=context) as socket:
            await socket.send_json({"op": "subscribe", "channel": "L1", "symbol": "AAPL"})
            message: dict[str, object] = await socket.receive_json(timeout=10)
            return message

    message = asyncio.run(first_message())
    assert message["type"] == "quote", message
