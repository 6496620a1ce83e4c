"""The interceptor's stream wrapper, driven the way grpc.aio drives it.

grpc.aio iterates a streaming handler in the call's own task. When that task
is cancelled while the handler is parked at ``yield`` (a client vanishing
while a response is being sent), grpc drops the generator unclosed, and the
event loop's async-generator finalizer closes it later, in a new task with
another context. Nothing the wrapper does then may fail.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from server.auth.access import ADMIN, current_principal, session_revocation
from server.auth.interceptor import AuthInterceptor
from server.auth.keys import KeyRing
from server.auth.tokens import TokenIssuer
from server.shared import MemoryShared

STREAM_ALERTS = "/stocktraderx.v1.RiskService/StreamAlerts"


@dataclass(frozen=True)
class _CallDetails:
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


class _Aborted(Exception):  # noqa: N818 - what grpc.aio's abort raises, in miniature
    pass


class _Context:
    """The two ServicerContext methods the interceptor uses."""

    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)
        self.status: tuple[grpc.StatusCode, str] | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def abort(
        self, code: grpc.StatusCode, details: str, trailing_metadata: object = ()
    ) -> None:
        self.status = (code, details)
        raise _Aborted(details)


async def _alerts(_request: object, _context: object) -> AsyncIterator[str]:
    while True:
        principal = current_principal()
        yield principal.user_id if principal is not None else ""
        await asyncio.sleep(0)


async def _one_then_silence(_request: object, _context: object) -> AsyncIterator[str]:
    principal = current_principal()
    yield principal.user_id if principal is not None else ""
    await asyncio.Event().wait()  # a quiet stream: waits for the next alert
    yield "never"


async def _guarded_stream(interceptor: AuthInterceptor, handler: Any = _alerts) -> Any:
    async def continuation(_details: Any) -> Any:
        return grpc.unary_stream_rpc_method_handler(handler)

    handler = await interceptor.intercept_service(continuation, _CallDetails(STREAM_ALERTS))  # type: ignore[arg-type]
    return handler.unary_stream


def test_a_stream_finalized_in_another_context_raises_nothing() -> None:
    async def main() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        problems: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, problem: problems.append(problem))
        tokens = TokenIssuer(KeyRing(None, 930), "stx", "api")
        token, _ = tokens.issue("risk-1", (ADMIN,))
        interceptor = AuthInterceptor(tokens, MemoryShared())
        stream = await _guarded_stream(interceptor)

        async def call() -> Any:
            responses = stream("request", _Context(token))
            assert await anext(responses) == "risk-1"
            return responses  # parked at yield, as when grpc's task is cancelled in a send

        parked = await loop.create_task(call())
        del parked
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0.01)
        return problems

    problems = asyncio.run(main())
    assert [str(problem.get("exception") or problem.get("message")) for problem in problems] == []


def test_the_principal_is_the_callers_within_the_stream() -> None:
    async def main() -> None:
        tokens = TokenIssuer(KeyRing(None, 930), "stx", "api")
        token, _ = tokens.issue("risk-2", (ADMIN,))
        stream = await _guarded_stream(AuthInterceptor(tokens, MemoryShared()))
        responses = stream("request", _Context(token))
        assert [await anext(responses), await anext(responses)] == ["risk-2", "risk-2"]
        await responses.aclose()
        with pytest.raises(_Aborted):
            await anext(stream("request", _Context("not-a-token")))

    asyncio.run(main())


def test_a_revocation_ends_a_waiting_stream_at_once() -> None:
    async def main() -> None:
        shared = MemoryShared()
        tokens = TokenIssuer(KeyRing(None, 930), "stx", "api")
        token, _ = tokens.issue("risk-3", (ADMIN,), session="session-1")
        interceptor = AuthInterceptor(tokens, shared)
        await interceptor.start()
        stream = await _guarded_stream(interceptor, _one_then_silence)
        context = _Context(token)
        first = asyncio.Event()

        async def call() -> None:  # one task, as grpc serves a call
            responses = stream("request", context)
            assert await anext(responses) == "risk-3"
            first.set()
            await anext(responses)

        served = asyncio.get_running_loop().create_task(call())
        await first.wait()
        await asyncio.sleep(0.01)
        await shared.revoke(session_revocation("session-1"), time.time() + 60)
        with pytest.raises(_Aborted):
            await asyncio.wait_for(served, 1)
        assert context.status == (grpc.StatusCode.UNAUTHENTICATED, "access token revoked")
        # A new call with the token is refused as it opens.
        with pytest.raises(_Aborted):
            await anext(stream("request", _Context(token)))

    asyncio.run(main())
