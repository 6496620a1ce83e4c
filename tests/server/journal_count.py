"""How many records an in-process exchange's journal holds, read from its files."""

from __future__ import annotations

from server.app import Exchange
from server.journal.files import list_segments
from server.journal.format import scan


async def journal_records(exchange: Exchange) -> int:
    """The records in the journal's segments once everything submitted is
    durable: what a refusal by the gateway must leave unchanged."""
    core = exchange.core
    assert core is not None
    await core.sequencer.durable()
    core.writer.flush()
    return sum(len(scan(path.read_bytes()).records) for _, path in list_segments(core.directory))
