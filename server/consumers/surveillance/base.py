"""What every detector offers the dispatcher (``detectors.Surveillance``).

A detector names the event types it handles; the dispatcher calls only
those, so an event nobody wants (most ``LevelChanged``) costs one dict
lookup. ``begin`` and ``end`` run around each command's events, but only for
detectors that override them: ``begin`` is where windows are closed and
state pruned by time (the command's timestamp is the only clock), ``end``
where a detector that must see a whole command (a sweep's trades, a mass
cancel's orders) raises what it found.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from matching import Command
from server.model.alerts import Alert

Handler = Callable[[Any, int, list[Alert]], None]
"""``handler(event, command_timestamp, alerts_out)``."""


class Detector(ABC):
    @abstractmethod
    def handlers(self) -> Mapping[type[Any], Handler]:
        """The event types this detector reads, each with its handler."""

    def begin(self, command: Command, now: int, out: list[Alert]) -> None:  # noqa: B027 - optional hook
        """Called before a command's events (only when overridden)."""

    def end(self, now: int, out: list[Alert]) -> None:  # noqa: B027 - optional hook
        """Called after a command's events (only when overridden)."""

    def tracked(self) -> int:
        """How many orders, accounts and episodes the detector holds now (not
        counting per-symbol state): what must fall back once activity stops."""
        return 0


def opposite(side: int) -> int:
    """The other side (``Side`` values 1 and 2), without an enum lookup."""
    return 3 - side


def median(values: list[int]) -> int:
    """The median of integers, the lower of the two middle ones when even."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]
