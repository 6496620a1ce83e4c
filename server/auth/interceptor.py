"""One gRPC server interceptor enforces every RPC's access rule.

Public RPCs pass. Every other call must carry ``authorization: Bearer
<access token>``; the token is validated (``tokens.py``), checked against
the revocation set, and its roles against the RPC's rule. A missing or bad
token is UNAUTHENTICATED, a role that is not admitted PERMISSION_DENIED, each
with the ErrorInfo of ``server/errors.py`` as every other error. The
caller becomes the ``Principal`` of the call (``access.current_principal``),
which the services use for object-level checks. Streams are checked again
while they run: when the token expires the stream ends with UNAUTHENTICATED,
and when it is revoked (logout, a reused refresh token, a revoked API key)
at once: the shared state tells every process of each revocation, and the
stream stops taking requests and ends on the spot. A periodic look-up in
the revocation set stays as the backstop should that notice be lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from server.auth.access import Principal, Rule, reset_principal, rule_for, set_principal
from server.auth.oidc import OidcVerifier, issuer_of
from server.auth.tokens import Claims, TokenError, TokenIssuer
from server.errors import abort, forbidden, unauthenticated
from server.metrics.auth import AUTH_FAILURES
from server.shared import SharedState

RECHECK_SECONDS = 5.0
"""How often a running stream looks its token up in the revocation set."""
VERIFIED_LIMIT = 10_000
"""Verified tokens remembered; past this the memory starts over."""
REVOKED = "access token revoked"

# stx_auth_failures_total's reasons for a call refused for its token, beside
# the directory's sign-in failures (server/metrics/auth.py).
TOKEN_MISSING = AUTH_FAILURES.labels("token_missing")
TOKEN_INVALID = AUTH_FAILURES.labels("token_invalid")
TOKEN_REVOKED = AUTH_FAILURES.labels("token_revoked")
TOKEN_EXPIRED = AUTH_FAILURES.labels("token_expired")

Context = grpc.aio.ServicerContext[Any, Any]
_log = logging.getLogger(__name__)


class _OpenStream:
    """One running stream of an authenticated call, until it ends."""

    __slots__ = ("revoked", "task", "waiting")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.revoked = False
        self.waiting = False
        """True while the call's task waits for the handler's next response:
        only then may a revocation cancel it (not in the middle of grpc's send)."""

    def revoke(self) -> None:
        if self.revoked:
            return
        self.revoked = True
        if self.waiting and self.task is not None:
            self.task.cancel(REVOKED)


async def _until_revoked(requests: AsyncIterator[Any], stream: _OpenStream) -> AsyncIterator[Any]:
    """The client's requests, none of them once the token is revoked.

    Once the call has been ended (the token expired: ``context.abort``),
    grpc raises AbortError to whoever still reads its requests; for the
    handler that is simply the end of them, not a failure to log."""
    try:
        async for request in requests:
            if stream.revoked:
                return
            yield request
    except grpc.aio.AbortError:
        return


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
        self._open: dict[str, set[_OpenStream]] = {}
        """Revocation id (token, session, API key) -> the streams it ends."""

    async def start(self) -> None:
        """Hear of every revocation from now on (before serving any call)."""
        await self._shared.watch_revocations(self.revoked)

    def revoked(self, revocation_id: str) -> None:
        """End every open stream that ``revocation_id`` covers, at once."""
        streams = self._open.pop(revocation_id, None)
        if not streams:
            return
        for stream in streams:
            stream.revoke()
        _log.info("access revoked: ending %d open stream(s)", len(streams))

    def _register(self, principal: Principal, stream: _OpenStream) -> None:
        for revocation_id in principal.revocation_ids:
            self._open.setdefault(revocation_id, set()).add(stream)

    def _forget(self, principal: Principal, stream: _OpenStream) -> None:
        for revocation_id in principal.revocation_ids:
            streams = self._open.get(revocation_id)
            if streams is not None:
                streams.discard(stream)
                if not streams:
                    del self._open[revocation_id]

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
            TOKEN_MISSING.inc()
            await abort(context, unauthenticated("sign in: send 'authorization: Bearer <token>'"))
        try:
            claims = await self._verify(token)
        except TokenError as error:
            TOKEN_INVALID.inc()
            await abort(context, unauthenticated(f"invalid access token: {error}"))
        principal = Principal(
            claims.subject,
            claims.roles,
            frozenset(claims.accounts),
            claims.token_id,
            claims.expires,
            claims.api_key,
            claims.session,
        )
        if await self._shared.is_revoked(*principal.revocation_ids):
            TOKEN_REVOKED.inc()
            await abort(context, unauthenticated(REVOKED))
        if not rule.admits(claims.roles):
            await abort(context, forbidden("your roles do not allow this call"))
        return principal

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
            TOKEN_EXPIRED.inc()
            await abort(context, unauthenticated("access token expired: reconnect with a new one"))
        if now - checked[0] >= RECHECK_SECONDS:
            checked[0] = now
            if await self._shared.is_revoked(*principal.revocation_ids):
                TOKEN_REVOKED.inc()
                await abort(context, unauthenticated(REVOKED))

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

        shared = self._shared
        register = self._register
        forget = self._forget

        def streamed(
            inner: Callable[[Any, Context], AsyncIterator[Any]], requests_streamed: bool
        ) -> Callable[[Any, Context], AsyncIterator[Any]]:
            async def wrapper(request: Any, context: Context) -> AsyncIterator[Any]:
                principal = await authenticate(context, rule)
                # Never reset: when a call's task is cancelled while this
                # generator waits at ``yield``, grpc drops it and the loop's
                # finalizer closes it in another context, where a reset fails
                # ("created in a different Context"). The call's task, and so
                # the binding, ends with the call anyway.
                set_principal(principal)
                stream = _OpenStream(asyncio.current_task())
                register(principal, stream)
                # A revocation between the look-up in authenticate and here.
                if await shared.is_revoked(*principal.revocation_ids):
                    stream.revoked = True
                if requests_streamed:
                    request = _until_revoked(request, stream)
                responses = inner(request, context).__aiter__()
                checked = [time.time()]
                try:
                    while not stream.revoked:
                        stream.waiting = True
                        try:
                            response = await anext(responses)
                        except StopAsyncIteration:
                            break
                        except asyncio.CancelledError:
                            if not stream.revoked or stream.task is None:
                                raise
                            stream.task.uncancel()
                            break
                        finally:
                            stream.waiting = False
                        if stream.revoked:
                            break
                        await still_valid(principal, context, checked)
                        yield response
                finally:
                    forget(principal, stream)
                    closing = getattr(responses, "aclose", None)
                    if closing is not None:
                        await closing()
                if stream.revoked:
                    TOKEN_REVOKED.inc()
                    await abort(context, unauthenticated(REVOKED))

            return wrapper

        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                streamed(handler.unary_stream, False), **options
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                streamed(handler.stream_stream, True), **options
            )
        stream_unary = handler.stream_unary

        async def client_stream(requests: Any, context: Context) -> Any:
            token = set_principal(await authenticate(context, rule))
            try:
                return await stream_unary(requests, context)
            finally:
                reset_principal(token)

        return grpc.stream_unary_rpc_method_handler(client_stream, **options)
