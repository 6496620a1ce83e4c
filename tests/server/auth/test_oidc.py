"""Single sign-on: tokens of an external OpenID Connect issuer the test runs."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc, users_pb2, users_pb2_grpc

from server.app import Exchange
from tests.server.local import local_settings, prepare_accounts

ISSUER = "https://login.example-bank.test/realms/trading"
AUDIENCE = "stocktraderx"


class LocalIssuer:
    """An identity provider: an RSA key and its JWK Set served over HTTP."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        document = json.dumps({"keys": [{**public, "kid": "idp-1", "use": "sig"}]}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *_: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"

    def token(self, roles: list[str], accounts: list[str], **overrides: object) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": "employee-42", "iat": now,
            "exp": now + 300, "roles": roles, "stx_accounts": accounts,
        }  # fmt: skip
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "idp-1"})


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer()
    yield local
    local.server.shutdown()


def test_tokens_of_the_configured_issuer_are_accepted_and_mapped(
    issuer: LocalIssuer, tmp_path: Path
) -> None:
    async def scenario() -> None:
        settings = local_settings(
            tmp_path, oidc_issuer=ISSUER, oidc_jwks_url=issuer.jwks_url, oidc_audience=AUDIENCE
        )
        exchange = Exchange(settings)
        await exchange.start()
        try:
            await prepare_accounts(exchange, "DESK7")  # the account the tokens grant
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                orders = orders_pb2_grpc.OrderServiceStub(channel)

                def place(token: str, account: str) -> Awaitable[object]:
                    return orders.PlaceOrder(
                        orders_pb2.PlaceOrderRequest(
                            account_id=account, client_order_id=f"sso-{time.time_ns()}",
                            symbol="AAPL", side=common_pb2.SIDE_BUY,
                            order_type=common_pb2.ORDER_TYPE_LIMIT, quantity=5, price=1_890_000,
                        ),
                        metadata=(("authorization", f"Bearer {token}"),),
                    )  # fmt: skip

                await place(issuer.token(["trader"], ["DESK7"]), "DESK7")
                for token, account, code in (
                    (issuer.token(["trader"], ["DESK7"]), "DESK8", "PERMISSION_DENIED"),
                    (issuer.token(["viewer"], ["DESK7"]), "DESK7", "PERMISSION_DENIED"),
                    (issuer.token(["trader"], ["DESK7"], aud="elsewhere"), "DESK7",
                     "UNAUTHENTICATED"),
                    (issuer.token(["trader"], ["DESK7"], exp=int(time.time()) - 120), "DESK7",
                     "UNAUTHENTICATED"),
                ):  # fmt: skip
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await place(token, account)
                    assert refused.value.code().name == code
                # A token of the right issuer signed with another key is refused.
                stranger = LocalIssuer()
                with pytest.raises(grpc.aio.AioRpcError) as forged:
                    await place(stranger.token(["trader"], ["DESK7"]), "DESK7")
                stranger.server.shutdown()
                assert forged.value.code() is grpc.StatusCode.UNAUTHENTICATED
                # The exchange's own sign-in keeps working next to it.
                users = users_pb2_grpc.UserServiceStub(channel)
                await users.GetJwks(users_pb2.GetJwksRequest())
        finally:
            await exchange.stop()

    asyncio.run(scenario())
