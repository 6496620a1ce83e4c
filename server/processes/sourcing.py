"""Where the projector and analytics processes take committed records from.

Beside the core (the default) they read the journal files and learn of
committed positions over the link (``link.py``); on another host
(``--source``, ``[relay] source``) they read the committed log the relay
publishes and learn of new records from the log itself. Either way they get
a record source and something that tells them the last committed sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from server.committed.open import open_log
from server.config import Settings
from server.consumers.sources import JournalSource, LogPositions, LogSource, RecordSource
from server.processes.link import follow_positions
from server.secret_values import redact_url

_log = logging.getLogger(__name__)


class Positions(Protocol):
    """What tells a consumer of committed positions (the link, or the log)."""

    async def stop(self) -> None: ...


async def record_source(
    settings: Settings, on_position: Callable[[int], None], name: str
) -> tuple[RecordSource, Positions]:
    """The source of ``name``'s records and its running positions; returns
    once the last committed sequence has been told to ``on_position``."""
    directory = Path(settings.data_dir)
    if not settings.relay.source:
        return JournalSource(directory), await follow_positions(directory, on_position, name)
    log = open_log(settings.relay.source)
    positions = LogPositions(log, on_position)
    _log.info("%s reads the committed log at %s", name, redact_url(settings.relay.source))
    await positions.start()
    return LogSource(log), positions
