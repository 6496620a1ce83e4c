"""The journal: the exchange's source of truth, on local disk.

Every command the sequencer applies is a record with a gap-free sequence
number; replaying the records through a fresh engine rebuilds its state.
Snapshots only shorten that replay. Layout of the data directory::

    journal-00000000000000000001.log         records 1..100000
    journal-00000000000000100001.log         records 100001.. (appended to)
    snapshot-00000000000000100000.json       engine state after record 100000
    snapshot-00000000000000200000.json.tmp   a snapshot being written (ignored)
    journal-00000000000000100001.log.cut-88  bytes recovery cut off a torn tail
    damaged-20261207T041500Z/                what `stx journal repair` moved aside
    stx.lock                                 held by the running server

Names carry a sequence zero-padded to 20 digits, so they sort in order. A
segment is named after its first record and ends where the next one starts;
the writer starts a new segment right before each snapshot (``roll``) so
that ``prune`` can delete whole segments older than the snapshots it keeps.

Segment file (``format``)::

    header  "STXJ" | u16 version (1)
    record  u32 payload length | u32 CRC-32(sequence, payload) | u64 sequence | payload
    ...     little-endian; payloads are opaque bytes (the sequencer encodes them)

Snapshot file (``snapshots``), format 2::

    {"format":2,"sha256":"<hex>","length":N}       header line, then a newline
    {"sequence":...,"state_hash":...,"data":...}   body: N bytes, that SHA-256

written to ``.tmp``, fsynced, renamed, directory fsynced; the hash is
verified before the body is parsed, and a snapshot that fails is skipped
with a warning (format 1, from earlier versions, has no checksum and is
loaded with a warning).

Start-up calls ``recover`` (newest good snapshot + the records after it),
then ``Recovery.open_writer`` to append from ``last_sequence + 1``.

The rule for damage: only a torn tail may be cut, that is damage in the
last segment with no intact record anywhere after it (a record whose CRC
verifies and whose sequence is plausible, searched at every byte offset).
That is all a crash can leave, and those bytes were never acknowledged
under ``always``. Anything else (damage followed by intact records, damage
in an older segment, a gap, a record with the wrong sequence) is damage to
acknowledged history: start-up stops and names the file, the offset, the
records that follow and the way out. Nothing is ever thrown away without
an operator saying so:

- ``stx journal verify [--data-dir DIR]`` reads every segment and snapshot
  and changes nothing; exit status 1 on damage.
- ``stx journal repair [--data-dir DIR]`` says what it would move aside and
  which records (sequence range, count) would be lost; with
  ``--accept-loss`` it truncates at the first damage and moves the damaged
  bytes and everything after them into ``damaged-<UTC time>/``. It refuses
  while a server holds the directory's lock (``stx.lock``).

See docs/operations.md, "Journal damage and repair".
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
