"""One gRPC server interceptor enforces every RPC's access rule.

Public RPCs pass. Every other call must carry ``authorization: Bearer
<access token>``; the token is validated (``tokens.py``), checked against
the revocation set, and its roles against the RPC's rule. A missing or bad
token is UNAUTHENTICATED, a role that is not admitted PERMISSION_DENIED. The
caller becomes the ``Principal`` of the call (``access.current_principal``),
which the services use for object-level checks. Streams are checked again
while they run: when the token expires or is revoked the stream ends with
UNAUTHENTICATED.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from server.auth.access import Principal, Rule, reset_principal, rule_for, set_principal
from server.auth.oidc import OidcVerifier, issuer_of
from server.auth.tokens import Claims, TokenError, TokenIssuer
from server.shared import SharedState

RECHECK_SECONDS = 5.0
VERIFIED_LIMIT = 10_000
"""Verified tokens remembered; past this the memory starts over."""
"""How often a running stream looks its token up in the revocation set."""

Context = grpc.aio.ServicerContext[Any, Any]


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(
        self, tokens: TokenIssuer, shared: SharedState, oidc: OidcVerifier | None = None
    ) -> None:
        self._tokens = tokens
        self._shared = shared
        self._oidc = oidc
        self._verified: dict[str, Claims] = {}
        """Tokens whose signature and claims were checked, until they expire:
        ECDSA verification is the largest per-call cost of a REST request."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        rule = rule_for(handler_call_details.method)
        if handler is None or rule.public:
            return handler
        guarded: grpc.RpcMethodHandler[Any, Any] = self._guarded(handler, rule)
        return guarded

    async def _authenticate(self, context: Context, rule: Rule) -> Principal:
        metadata = dict(context.invocation_metadata() or ())
        header = str(metadata.get("authorization", ""))
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "sign in: send 'authorization: Bearer <token>'"
            )
        try:
            claims = await self._verify(token)
        except TokenError as error:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"invalid access token: {error}")
        if await self._shared.is_revoked(claims.token_id):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "access token revoked")
        if not rule.admits(claims.roles):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "your roles do not allow this call"
            )
        return Principal(
            claims.subject,
            claims.roles,
            frozenset(claims.accounts),
            claims.token_id,
            claims.expires,
            claims.api_key,
        )

    async def _verify(self, token: str) -> Claims:
        claims = self._verified.get(token)
        if claims is not None and time.time() <= claims.expires:
            return claims
        oidc = self._oidc
        if oidc is not None and issuer_of(token) == oidc.settings.issuer:
            claims = await oidc.verify(token)
        else:
            claims = self._tokens.verify(token)
        if len(self._verified) >= VERIFIED_LIMIT:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    async def _still_valid(
        self, principal: Principal, context: Context, checked: list[float]
    ) -> None:
        now = time.time()
        if now > principal.expires:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "access token expired: reconnect with a new one"
            )
        if now - checked[0] >= RECHECK_SECONDS:
            checked[0] = now
            if await self._shared.is_revoked(principal.token_id):
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "access token revoked")

    def _guarded(self, handler: Any, rule: Rule) -> Any:
        # The behaviours of a grpc.aio handler are coroutine functions and
        # async generators; grpc's type stubs describe the synchronous API.
        authenticate = self._authenticate
        still_valid = self._still_valid
        options = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            unary = handler.unary_unary

            async def unary_unary(request: Any, context: Context) -> Any:
                token = set_principal(await authenticate(context, rule))
                try:
                    return await unary(request, context)
                finally:
                    reset_principal(token)

            return grpc.unary_unary_rpc_method_handler(unary_unary, **options)

        def streamed(
            inner: Callable[[Any, Context], AsyncIterator[Any]],
        ) -> Callable[[Any, Context], AsyncIterator[Any]]:
            async def wrapper(request: Any, context: Context) -> AsyncIterator[Any]:
                principal = await authenticate(context, rule)
                token = set_principal(principal)
                checked = [time.time()]
                try:
                    async for response in inner(request, context):
                        await still_valid(principal, context, checked)
                        yield response
                finally:
                    reset_principal(token)

            return wrapper

        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(streamed(handler.unary_stream), **options)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(streamed(handler.stream_stream), **options)
        stream_unary = handler.stream_unary

        async def client_stream(requests: Any, context: Context) -> Any:
            token = set_principal(await authenticate(context, rule))
            try:
                return await stream_unary(requests, context)
            finally:
                reset_principal(token)

        return grpc.stream_unary_rpc_method_handler(client_stream, **options)
