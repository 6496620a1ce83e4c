"""The journal: the exchange's source of truth, on local disk.

Every command the sequencer applies is a record with a gap-free sequence
number; replaying the records through a fresh engine rebuilds its state.
Snapshots only shorten that replay. Layout of the data directory::

    journal-00000000000000000001.log         records 1..100000
    journal-00000000000000100001.log         records 100001.. (appended to)
    snapshot-00000000000000100000.json       engine state after record 100000
    snapshot-00000000000000200000.json.tmp   a snapshot being written (ignored)
    journal-00000000000000100001.log.cut-88  bytes recovery cut off a torn tail

Names carry a sequence zero-padded to 20 digits, so they sort in order. A
segment is named after its first record and ends where the next one starts;
the writer starts a new segment right before each snapshot (``roll``) so
that ``prune`` can delete whole segments older than the snapshots it keeps.

Segment file (``format``)::

    header  "STXJ" | u16 version (1)
    record  u32 payload length | u32 CRC-32(sequence, payload) | u64 sequence | payload
    ...     little-endian; payloads are opaque bytes (the sequencer encodes them)

Snapshot file (``snapshots``): JSON ``{"format": 1, "sequence", "state_hash",
"data"}``, written to ``.tmp``, fsynced, renamed, directory fsynced.

Start-up calls ``recover`` (newest good snapshot + the records after it, a
torn tail cut off), then ``Recovery.open_writer`` to append from
``last_sequence + 1``.
"""

from server.journal.format import Damage, Problem, SegmentReader, encode_record, scan
from server.journal.recovery import JournalCorruptError, Recovery, Truncation, recover
from server.journal.snapshots import load_latest_snapshot, prune, write_snapshot
from server.journal.writer import Durability, JournalFailedError, JournalWriter

__all__ = [
    "Damage",
    "Durability",
    "JournalCorruptError",
    "JournalFailedError",
    "JournalWriter",
    "Problem",
    "Recovery",
    "SegmentReader",
    "Truncation",
    "encode_record",
    "load_latest_snapshot",
    "prune",
    "recover",
    "scan",
    "write_snapshot",
]
