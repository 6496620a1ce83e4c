"""The consumers' one backoff loop."""

from __future__ import annotations

import asyncio

import pytest

from server.consumers.retrying import RETRY_FIRST, retried


class _AwayError(Exception):
    pass


class _RefusedError(Exception):
    pass


def test_a_failing_attempt_is_retried_with_doubling_waits_until_it_succeeds() -> None:
    outcomes: list[Exception | None] = [_AwayError("down"), _AwayError("still down"), None]
    heard: list[tuple[str, float]] = []

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "written"

    def failed(error: Exception, delay: float) -> None:
        heard.append((str(error), delay))

    assert asyncio.run(retried(attempt, failed)) == "written"
    assert heard == [("down", RETRY_FIRST), ("still down", RETRY_FIRST * 2)]


def test_a_final_error_is_raised_at_once() -> None:
    heard: list[Exception] = []

    async def attempt() -> int:
        raise _RefusedError("not this log")

    with pytest.raises(_RefusedError):
        asyncio.run(retried(attempt, lambda error, _: heard.append(error), final=(_RefusedError,)))
    assert heard == []
