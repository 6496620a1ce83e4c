"""Retrying with backoff: what a consumer does while its store or log is away.

Consumers are behind the core by design, so a database or a log that does
not answer only delays them: they ask again, waiting longer each time, and
whatever they still have to write waits in the journal meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

RETRY_FIRST = 0.1
"""Seconds before the first retry."""
RETRY_MAX = 5.0
"""The longest wait between two attempts."""


async def retried(
    attempt: Callable[[], Awaitable[T]],
    failed: Callable[[Exception, float], None],
    *,
    final: tuple[type[Exception], ...] = (),
) -> T:
    """``attempt`` until it succeeds, waiting from ``RETRY_FIRST`` seconds,
    doubling, to ``RETRY_MAX`` between attempts. ``failed`` hears each
    failure and the wait that follows it (``delay == RETRY_FIRST``: the first
    of a run, the one worth a warning). Exceptions in ``final`` are not a
    store away but a refusal: they are raised at once."""
    delay = RETRY_FIRST
    while True:
        try:
            return await attempt()
        except asyncio.CancelledError:
            raise
        except final:
            raise
        except Exception as error:  # each store's and log's client raises its own types
            failed(error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
