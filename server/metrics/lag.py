"""How far a journal follower (the projector, the analytics store) is behind
the core, in records and in seconds, read at scrape time."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class JournalLag:
    """The committed positions the link reported against the follower's own.

    ``committed_to`` is told of each committed position as the link reports
    it (once per batch); the age of the oldest record the follower has not
    yet taken in is the time since the first report of a position beyond its
    own.
    """

    def __init__(self, position: Callable[[], int], clock: Callable[[], float] = time.monotonic):
        self._position = position
        self._clock = clock
        self._reported: deque[tuple[int, float]] = deque()
        """(committed sequence, when it was reported), oldest first."""
        self.committed = 0

    def committed_to(self, sequence: int) -> None:
        if sequence > self.committed:
            self.committed = sequence
            self._reported.append((sequence, self._clock()))
            self._forget_taken()

    def _forget_taken(self) -> None:
        position, reported = self._position(), self._reported
        while reported and reported[0][0] <= position:
            reported.popleft()

    def lag_records(self) -> int:
        return max(self.committed - self._position(), 0)

    def lag_seconds(self) -> float:
        self._forget_taken()
        if not self._reported:
            return 0.0
        return self._clock() - self._reported[0][1]
