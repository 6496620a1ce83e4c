"""The journal readers' positions, shared with the core through small files.

The core prunes journal segments that no reader needs any more; the store
projector and the analytics store, each in a process of its own, need every
record after the last one they wrote. Each writes that sequence to its file
in the data directory (atomically: a temporary file renamed over it) and the
core reads them when it prunes. No ``projector.position`` means no projector
ever ran there: the core keeps everything, unless a relay ran there (then
the store's projector reads the committed log on another host, which keeps
every record the relay sent: the relay's position is what must be kept). No
``analytics.position`` means no analytics process ever ran there (it is
optional in a deployment of one container per role): it holds nothing back.
"""

from __future__ import annotations

import os
from pathlib import Path

POSITION_FILE = "projector.position"
ANALYTICS_POSITION_FILE = "analytics.position"
RELAY_POSITION_FILE = "relay.position"
"""The last record on the committed log; like analytics, only once a relay ran."""


class PositionFile:
    def __init__(self, directory: Path, name: str = POSITION_FILE) -> None:
        self.path = directory / name

    def read(self) -> int:
        """The last sequence the store holds; 0 (keep everything) if unknown.

        A damaged file keeps everything too: pruning too little costs disk,
        pruning too much would cost the store its catch-up."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return 0
        try:
            return max(int(text.strip()), 0)
        except ValueError:
            return 0

    def write(self, position: int) -> None:
        aside = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        aside.write_text(f"{position}\n")
        aside.replace(self.path)


def needed_from(directory: Path) -> int:
    """The last sequence every journal reader has: the journal keeps what follows."""
    projector = PositionFile(directory)
    relay = PositionFile(directory, RELAY_POSITION_FILE)
    if not projector.path.exists() and relay.path.exists():
        # The projector follows the log elsewhere: a journal kept whole here
        # would only grow, and the log already has what the relay sent.
        projector = relay
    needed = projector.read()
    for optional in (ANALYTICS_POSITION_FILE, RELAY_POSITION_FILE):
        reader = PositionFile(directory, optional)
        if reader.path.exists():
            needed = min(needed, reader.read())
    return needed
