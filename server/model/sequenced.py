"""A committed command as every process sees it."""

from __future__ import annotations

from typing import NamedTuple

from matching import Command, Event


class Sequenced(NamedTuple):
    """A command as it was applied: its number, itself (timestamp included),
    the events it caused, the client's id it came with (a new order's client
    order id, a cancel's or replace's client request id), and its journal
    payload when the one who applied it had it at hand (the core's sequencer
    keeps the bytes it journaled so the link hands them out without encoding
    them again; empty elsewhere)."""

    sequence: int
    command: Command
    events: list[Event]
    client_order_id: str = ""
    payload: bytes = b""
