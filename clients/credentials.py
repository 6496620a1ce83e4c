"""Credentials for programs: a password or an API key, tokens renewed by themselves.

``PasswordCredentials`` signs in once and then keeps the session alive with
its rotating refresh token (signing in again if the session ended);
``ApiKeyCredentials`` exchanges the key for an access token whenever the
last one is about to expire. Either gives the clients of ``sdk.py`` the
access token to send with each call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import grpc
from stocktraderx.v1 import users_pb2, users_pb2_grpc

MARGIN_SECONDS = 30
"""Renew this long before the access token expires."""


@dataclass
class _Token:
    value: str = ""
    expires_at: float = 0.0
    refresh: str = ""

    def fresh(self) -> bool:
        return bool(self.value) and self.expires_at - MARGIN_SECONDS > time.time()


@dataclass
class PasswordCredentials:
    username: str
    password: str = field(repr=False)
    _token: _Token = field(default_factory=_Token, repr=False)

    def token(self, channel: grpc.Channel) -> str:
        if self._token.fresh():
            return self._token.value
        users = users_pb2_grpc.UserServiceStub(channel)
        if self._token.refresh:
            try:
                renewed = users.RefreshToken(
                    users_pb2.RefreshTokenRequest(refresh_token=self._token.refresh), timeout=10
                )
                return self._keep(renewed.access_token, renewed.expires_in, renewed.refresh_token)
            except grpc.RpcError:
                pass  # the session ended (logged out, expired, revoked): sign in again
        answer = users.Login(
            users_pb2.LoginRequest(username=self.username, password=self.password), timeout=10
        )
        return self._keep(answer.access_token, answer.expires_in, answer.refresh_token)

    async def token_async(self, channel: grpc.aio.Channel) -> str:
        if self._token.fresh():
            return self._token.value
        users = users_pb2_grpc.UserServiceStub(channel)
        if self._token.refresh:
            try:
                renewed = await users.RefreshToken(
                    users_pb2.RefreshTokenRequest(refresh_token=self._token.refresh), timeout=10
                )
                return self._keep(renewed.access_token, renewed.expires_in, renewed.refresh_token)
            except grpc.RpcError:
                pass
        answer = await users.Login(
            users_pb2.LoginRequest(username=self.username, password=self.password), timeout=10
        )
        return self._keep(answer.access_token, answer.expires_in, answer.refresh_token)

    def _keep(self, value: str, expires_in: int, refresh: str) -> str:
        self._token = _Token(value, time.time() + expires_in, refresh)
        return value


@dataclass
class ApiKeyCredentials:
    key_id: str
    secret: str = field(repr=False)
    _token: _Token = field(default_factory=_Token, repr=False)

    def token(self, channel: grpc.Channel) -> str:
        if not self._token.fresh():
            answer = users_pb2_grpc.UserServiceStub(channel).ExchangeApiKey(
                users_pb2.ExchangeApiKeyRequest(key_id=self.key_id, secret=self.secret),
                timeout=10,
            )
            self._token = _Token(answer.access_token, time.time() + answer.expires_in)
        return self._token.value

    async def token_async(self, channel: grpc.aio.Channel) -> str:
        if not self._token.fresh():
            answer = await users_pb2_grpc.UserServiceStub(channel).ExchangeApiKey(
                users_pb2.ExchangeApiKeyRequest(key_id=self.key_id, secret=self.secret),
                timeout=10,
            )
            self._token = _Token(answer.access_token, time.time() + answer.expires_in)
        return self._token.value


Credentials = PasswordCredentials | ApiKeyCredentials
