"""A committed command as every process sees it."""

from __future__ import annotations

from typing import NamedTuple

from matching import Command, Event


class Sequenced(NamedTuple):
    """A command as it was applied: its number, itself (timestamp included),
    the events it caused, and the client order id it came with."""

    sequence: int
    command: Command
    events: list[Event]
    client_order_id: str = ""
