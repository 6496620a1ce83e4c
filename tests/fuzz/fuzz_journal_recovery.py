"""Journal recovery (``server.journal.recovery.recover``) on a fuzzed data
directory: it returns a consistent history or refuses with
``JournalCorruptError``, nothing else.

The input is a list of files, each ``kind: u8 | number: u16 | size: u16 |
bytes`` (little-endian; the last one takes what is left): an even kind is a
journal segment named after its first sequence ``number``, an odd one a
snapshot of ``number``. Only the documented outcomes of ``recover`` are
checked, not its rule for which damage is cut and which refused:

- any exception but ``JournalCorruptError`` is a bug;
- an accepted history is gap-free: the records continue the snapshot one by
  one up to ``last_sequence``;
- every record returned was written whole: its framing (length, CRC,
  sequence, payload) is in one of the segments as given;
- recovery only cuts: each segment afterwards is a prefix of what it was,
  and nothing is deleted;
- recovering again finds the same history and nothing more to cut.
"""

from __future__ import annotations

import atexit
import json
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from server.journal.files import segment_name, snapshot_name
from server.journal.format import HEADER, encode_record
from server.journal.recovery import JournalCorruptError, recover
from tests.fuzz.fuzz_codec import seeds as payloads

_ENTRY = struct.Struct("<BHH")
_SHM = Path("/dev/shm")
# tmpfs where there is one: recovery fsyncs every cut, and a disk would make
# that the whole cost of an input.
_BASE = Path(tempfile.mkdtemp(prefix="stx-fuzz-recovery-", dir=_SHM if _SHM.is_dir() else None))
atexit.register(shutil.rmtree, _BASE, True)


def files(data: bytes) -> dict[str, bytes]:
    """The data directory an input describes: file name -> content."""
    found: dict[str, bytes] = {}
    offset = 0
    while len(data) - offset >= _ENTRY.size:
        kind, number, size = _ENTRY.unpack_from(data, offset)
        offset += _ENTRY.size
        body = data[offset : offset + size]
        offset += size
        found[snapshot_name(number) if kind % 2 else segment_name(number)] = body
    return found


def entry(kind: int, number: int, body: bytes) -> bytes:
    return _ENTRY.pack(kind, number, len(body)) + body


def test_one_input(data: bytes) -> None:
    directory = _BASE / "data"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    given = files(data)
    for name, content in given.items():
        (directory / name).write_bytes(content)
    try:
        result = recover(directory)
    except JournalCorruptError:
        return
    base = result.snapshot_sequence
    sequences = [sequence for sequence, _ in result.records]
    assert sequences == list(range(base + 1, result.last_sequence + 1)), (base, sequences)
    for sequence, payload in result.records:
        framed = encode_record(sequence, payload)
        assert any(framed in content for name, content in given.items() if ".log" in name)
    after = {path.name: path.read_bytes() for path in directory.iterdir()}
    for name, content in given.items():
        assert content.startswith(after[name]), f"{name} was changed, not cut"
    again = recover(directory)
    assert again.truncation is None, again.truncated
    assert (again.snapshot_sequence, again.last_sequence, again.records) == (
        base,
        result.last_sequence,
        result.records,
    )


def seeds() -> Iterator[bytes]:
    """Data directories as the exchange leaves them, after clean stops and crashes."""
    records = [encode_record(sequence, payload) for sequence, payload in enumerate(payloads(), 1)]
    snapshot = json.dumps(
        {"format": 1, "sequence": 4, "state_hash": "0" * 64, "data": {"engine": {}}},
        separators=(",", ":"),
    ).encode()
    first = HEADER + b"".join(records[:4])
    second = HEADER + b"".join(records[4:9])
    yield entry(0, 1, first)
    yield entry(0, 1, first) + entry(0, 5, second)
    yield entry(0, 1, first) + entry(1, 4, snapshot) + entry(0, 5, second)
    yield entry(1, 4, snapshot) + entry(0, 5, second[:-3])  # torn tail
    yield entry(0, 1, first) + entry(0, 5, HEADER)  # rolled, then stopped
    yield entry(0, 1, first) + entry(0, 5, b"")  # rolled, crashed before the header
    yield entry(0, 1, first[:-4]) + entry(0, 5, second)  # damage in an older segment
    yield entry(0, 1, first) + entry(0, 6, second)  # a gap between segments
    yield entry(1, 4, snapshot) + entry(1, 9, b'{"format":1,"seq')  # a torn newer snapshot
    flipped = bytearray(second)
    flipped[len(HEADER) + len(records[4]) + 18] ^= 1
    yield entry(0, 1, first) + entry(0, 5, bytes(flipped))  # intact records after damage
