"""The journal: the exchange's source of truth, on local disk.

Layout of the data directory::

    journal-00000000000000000001.log   records 1.. (one segment per snapshot period)
    journal-00000000000000100001.log   records 100001..
    snapshot-00000000000000100000.json engine state after record 100000

Every command the sequencer applies is a record (see ``format``); a restart
loads the newest snapshot and replays the records after it (``recovery``).
"""

from server.journal.format import encode_record, scan
from server.journal.recovery import JournalCorruptError, Recovery, recover
from server.journal.snapshots import load_latest_snapshot, prune, write_snapshot
from server.journal.writer import Durability, JournalWriter

__all__ = [
    "Durability",
    "JournalCorruptError",
    "JournalWriter",
    "Recovery",
    "encode_record",
    "load_latest_snapshot",
    "prune",
    "recover",
    "scan",
    "write_snapshot",
]
