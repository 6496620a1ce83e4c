"""How the exchange process treats CPython's cyclic garbage collector.

Measured under load (`stx loadtest --rate 30000 --streams 4 --batch 100`
against the default collector): 16 full collections took 4.1 s of an 8 s
run, each one walking every resting order and order record, and each one a
pause every client sees as latency. The engine and the registry drop what
they remove without leaving reference cycles (unlinked orders clear their
neighbour pointers), so reference counting frees them; the cyclic collector
is only needed for short-lived garbage from the network stack, which dies
young.

So: after recovery the recovered state is moved to the permanent
generation (``gc.freeze``, never scanned again), and a full collection
needs a hundred times more surviving allocations than CPython's default
before it is considered at all. Young collections keep CPython's
thresholds: raising them made each pause longer (50,000 gave 16 ms young
and 48 ms middle pauses) for no throughput gain, and p99 latency is what
they cost (700/10 gives at most 4 ms and 10 ms).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable

YOUNG_THRESHOLD = 700
"""Net new container objects between young collections (CPython's own)."""
MIDDLE_THRESHOLD = 10
"""Young collections between middle ones (CPython's own)."""
FULL_THRESHOLD = 1_000
"""Middle collections between full ones (CPython: 10); CPython also waits
until the long-lived heap grew by a quarter since the last full one."""


def settle_heap() -> None:
    """Collect once, freeze what survives, and space collections out."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, FULL_THRESHOLD)


def quiet_child() -> None:
    """In a forked child that only reads the parent's state: never collect.

    A collection touches the header of every tracked object, which would
    copy every page the child shares with the parent.
    """
    gc.disable()


async def in_forked_child(work: Callable[[], object]) -> bool:
    """Run ``work`` in a forked child and wait for it off the event loop;
    whether it succeeded. The child holds a copy-on-write image of the
    parent's state as of the fork, so the parent goes on changing its own
    (trading, following a primary) while the child serialises the image; it
    does nothing else and leaves without running the parent's cleanup."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's exit status is what is tested
        code = 1
        try:
            quiet_child()
            work()
            code = 0
        finally:
            os._exit(code)
    _, status = await asyncio.to_thread(os.waitpid, pid, 0)
    return os.waitstatus_to_exitcode(status) == 0
