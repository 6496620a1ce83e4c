"""The projector's position, shared with the core through a small file.

The core prunes journal segments that no reader needs any more; the store
projector, in a process of its own, needs every record after the last one it
wrote. It writes that sequence to ``projector.position`` in the data directory
(atomically: a temporary file renamed over it) and the core reads it when it
prunes. No file means no projector ever ran there: the core keeps everything.
"""

from __future__ import annotations

import os
from pathlib import Path

POSITION_FILE = "projector.position"


class PositionFile:
    def __init__(self, directory: Path) -> None:
        self.path = directory / POSITION_FILE

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
        aside = self.path.with_name(f".{POSITION_FILE}.{os.getpid()}")
        aside.write_text(f"{position}\n")
        aside.replace(self.path)
