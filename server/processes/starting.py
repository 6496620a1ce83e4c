"""Starting something that a stop may interrupt: a role's process, or the
supervisor starting all of them.

A SIGINT or SIGTERM during the start (the operator's ^C, or the supervisor
stopping everything because another role failed) abandons the start and
stops what did start, instead of finishing a start nobody wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def start_unless_stopped(
    start: Coroutine[Any, Any, T], stop: Callable[[], Awaitable[None]], log: logging.Logger
) -> tuple[asyncio.Future[T], asyncio.Future[Any]] | None:
    """Run ``start`` while listening for SIGINT and SIGTERM. If a signal comes
    first: cancel the start, ``stop``, and return None. Otherwise the ended
    start (its result or exception) and the stop request still to come."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    starting = asyncio.ensure_future(start)
    asked = asyncio.ensure_future(stopping.wait())
    await asyncio.wait((starting, asked), return_when=asyncio.FIRST_COMPLETED)
    if starting.done():
        return starting, asked
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    log.info("stop requested while starting")
    await stop()
    return None
