"""The user service: registration, sessions, API keys and the JWK Set."""

from __future__ import annotations

from typing import Any, NoReturn

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Row
from stocktraderx.v1 import users_pb2 as pb
from stocktraderx.v1 import users_pb2_grpc

from server.auth.access import Principal, current_principal
from server.auth.directory import AuthRefusal, Session, UserDirectory, UserView
from server.errors import Refusal, abort, refusal_status
from server.gateways.grpc.calls import Context, origin_of, page_size, page_token


def _timestamp(nanos: int) -> Timestamp | None:
    if not nanos:
        return None
    stamp = Timestamp()
    stamp.seconds, stamp.nanos = divmod(nanos, 1_000_000_000)
    return stamp


def user_message(user: UserView) -> pb.User:
    return pb.User(
        user_id=user.user_id,
        username=user.username,
        email=user.email,
        roles=list(user.roles),  # type: ignore[arg-type]
        account_ids=list(user.account_ids),
        create_time=_timestamp(user.create_time),
        disabled=user.disabled,
    )


def api_key_message(row: Row[Any]) -> pb.ApiKey:
    return pb.ApiKey(
        key_id=row.key_id,
        label=row.label,
        roles=[int(role) for role in row.roles.split(",") if role],  # type: ignore[misc]
        create_time=_timestamp(row.create_time),
        expire_time=_timestamp(row.expire_time),
        last_use_time=_timestamp(row.last_use_time),
        revoke_time=_timestamp(row.revoke_time),
    )


async def _refuse(context: Context, refusal: AuthRefusal) -> NoReturn:
    await abort(context, refusal_status(refusal.kind, str(refusal), refusal.field))


async def _caller(context: Context) -> Principal:
    principal = current_principal()
    if principal is None:
        await _refuse(context, AuthRefusal(Refusal.UNAUTHENTICATED, "sign in first"))
    return principal


class UserService(users_pb2_grpc.UserServiceServicer):
    def __init__(self, directory: UserDirectory) -> None:
        self._directory = directory

    async def Register(  # noqa: N802 - the contract's name
        self, request: pb.RegisterRequest, context: Context
    ) -> pb.RegisterResponse:
        try:
            origin = origin_of(context)
            user = await self._directory.register(
                request.username,
                request.email,
                request.password,
                source=origin.source,
                gateway=origin.gateway,
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.RegisterResponse(user=user_message(user))

    async def Login(  # noqa: N802
        self, request: pb.LoginRequest, context: Context
    ) -> pb.LoginResponse:
        try:
            origin = origin_of(context)
            session = await self._directory.login(
                request.username, request.password, origin.source, origin.gateway
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.LoginResponse(**_session(session))

    async def RefreshToken(  # noqa: N802
        self, request: pb.RefreshTokenRequest, context: Context
    ) -> pb.RefreshTokenResponse:
        try:
            session = await self._directory.refresh(request.refresh_token)
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.RefreshTokenResponse(**_session(session))

    async def Logout(  # noqa: N802
        self, request: pb.LogoutRequest, context: Context
    ) -> pb.LogoutResponse:
        try:
            await self._directory.logout(request.refresh_token)
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        principal = current_principal()
        if principal is not None:
            # The access token of the call ends with the session, not 15 minutes later.
            await self._directory.revoke_access(principal.token_id, principal.expires)
        return pb.LogoutResponse()

    async def GetCurrentUser(  # noqa: N802
        self, request: pb.GetCurrentUserRequest, context: Context
    ) -> pb.GetCurrentUserResponse:
        principal = await _caller(context)
        user = await self._directory.user(principal.user_id)
        if user is None:
            await _refuse(context, AuthRefusal(Refusal.UNAUTHENTICATED, "the user is gone"))
        return pb.GetCurrentUserResponse(user=user_message(user))

    async def CreateApiKey(  # noqa: N802
        self, request: pb.CreateApiKeyRequest, context: Context
    ) -> pb.CreateApiKeyResponse:
        principal = await _caller(context)
        expire = request.expire_time.ToNanoseconds() if request.HasField("expire_time") else 0
        try:
            row, secret = await self._directory.create_api_key(
                principal.user_id, request.label, tuple(request.roles), expire
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.CreateApiKeyResponse(api_key=api_key_message(row), secret=secret)

    async def ListApiKeys(  # noqa: N802
        self, request: pb.ListApiKeysRequest, context: Context
    ) -> pb.ListApiKeysResponse:
        principal = await _caller(context)
        size = await page_size(request.page_size, context)
        before = await page_token(request.page_token, context)
        rows = await self._directory.api_keys_page(principal.user_id, before, size + 1)
        page = rows[:size]
        return pb.ListApiKeysResponse(
            api_keys=[api_key_message(row) for row in page],
            next_page_token=str(page[-1].create_time) if len(rows) > size else "",
        )

    async def RevokeApiKey(  # noqa: N802
        self, request: pb.RevokeApiKeyRequest, context: Context
    ) -> pb.RevokeApiKeyResponse:
        principal = await _caller(context)
        try:
            row = await self._directory.revoke_api_key(principal.user_id, request.key_id)
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.RevokeApiKeyResponse(api_key=api_key_message(row))

    async def ExchangeApiKey(  # noqa: N802
        self, request: pb.ExchangeApiKeyRequest, context: Context
    ) -> pb.ExchangeApiKeyResponse:
        try:
            origin = origin_of(context)
            token, seconds = await self._directory.exchange_api_key(
                request.key_id, request.secret, origin.source, origin.gateway
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.ExchangeApiKeyResponse(
            access_token=token, token_type="Bearer", expires_in=seconds
        )

    async def GetJwks(  # noqa: N802
        self, request: pb.GetJwksRequest, context: Context
    ) -> pb.GetJwksResponse:
        return pb.GetJwksResponse(
            keys=[pb.Jwk(**key) for key in self._directory.tokens.keys.jwks()]
        )


def _session(session: Session) -> dict[str, Any]:
    return {
        "access_token": session.access_token,
        "token_type": "Bearer",
        "expires_in": session.expires_in,
        "refresh_token": session.refresh_token,
        "refresh_expires_in": session.refresh_expires_in,
    }
