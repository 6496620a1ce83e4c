"""A real in-process exchange signing its access tokens in a SoftHSM2 token."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import grpc
import jwt
import pytest
from google.protobuf.json_format import MessageToDict
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from server.app import Exchange
from server.hsm.token import TokenSettings
from server.store.data_key import DataKeyError, parse_keys
from tests.server.local import local_settings

PASSWORD = "correct horse battery"


def test_sign_in_through_an_exchange_whose_keys_are_in_the_token(
    tmp_path: Path,
    softhsm_token: TokenSettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm_token.pin + "\n")  # as a mounted secret file ends
    monkeypatch.setenv("STX_PKCS11_PIN_FILE", str(pin_file))
    settings = local_settings(
        tmp_path / "data",
        auth_required=True,
        pkcs11_module=softhsm_token.module,
        pkcs11_token=softhsm_token.label,
    )

    async def serve_and_sign_in() -> tuple[str, dict[str, object]]:
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                users = users_pb2_grpc.UserServiceStub(channel)
                await users.Register(
                    users_pb2.RegisterRequest(
                        username="hana", email="hana@example.com", password=PASSWORD
                    )
                )
                session = await users.Login(
                    users_pb2.LoginRequest(username="hana", password=PASSWORD)
                )
                jwks = MessageToDict(await users.GetJwks(users_pb2.GetJwksRequest()))
                return session.access_token, jwks
        finally:
            await exchange.stop()

    async def current_user(token: str) -> tuple[str, str]:
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                me = await users_pb2_grpc.UserServiceStub(channel).GetCurrentUser(
                    users_pb2.GetCurrentUserRequest(),
                    metadata=(("authorization", f"Bearer {token}"),),
                )
                return me.user.username, me.user.email
        finally:
            await exchange.stop()

    with caplog.at_level(logging.DEBUG):
        token, jwks = asyncio.run(serve_and_sign_in())
        # The public JWK Set is all a relying party needs to check the token.
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.PyJWKSet.from_json(json.dumps(jwks))[kid]
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["ES256"],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
        )
        assert claims["sub"]
        # A restart signs with the same keys: they live in the token, not in files.
        # The e-mail, sealed under the data key, opens again: that key is
        # unwrapped by the token at each start.
        assert asyncio.run(current_user(token)) == ("hana", "hana@example.com")
    # No signing key and no plain data key on disk: only the data key wrapped
    # by the token, which opens nothing without it (and the empty lock file
    # gateways sharing the token take turns on to rotate).
    keys = tmp_path / "data" / "keys"
    assert sorted(path.name for path in keys.iterdir()) == ["data.key.wrapped", "keys.lock"]
    assert (keys / "keys.lock").stat().st_size == 0
    with pytest.raises(DataKeyError, match="is 61 bytes"):
        parse_keys((keys / "data.key.wrapped").read_text(), "wrapped file")
    assert f"PKCS#11 token {softhsm_token.label!r}" in caplog.text
    assert softhsm_token.pin not in caplog.text
