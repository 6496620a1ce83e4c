"""What the process-split benchmark sends, framed the same for every transport.

The payloads are real journal payloads: a seeded order flow encoded by
``server.journal.codec.encode`` with a client order id and an origin, as a gateway
would hand them to the core (60-120 bytes each). Framing is the smallest a
split would need, so the figures measure the transport and not an encoding:

- a command batch (gateway -> core): ``u64 first request id | u16 count``,
  then per command ``u16 length | payload``;
- a report batch (core -> gateway): ``u64 first request id | u16 count |
  u64 first sequence``, then per command ``u16 length | report``; the
  report is the command's payload sent back, standing in for its encoded
  events (the same order of size);
- a committed batch (core -> consumers): ``u64 first sequence | u32 count``,
  then per command ``u16 length | payload``.

Stream transports (Unix domain sockets) put a ``u32`` length before each
frame; ZeroMQ keeps message boundaries itself. Also here: the scratch
addresses and the wait for child processes that both flows use.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

from server.bench.workload import generate
from server.journal.codec import Origin, encode

_COMMANDS = struct.Struct("<QH")
_REPORTS = struct.Struct("<QHQ")
_COMMITTED = struct.Struct("<QI")
_ITEM = struct.Struct("<H")
_LENGTH = struct.Struct("<I")
MAX_BATCH = 65_535


def payloads(count: int, seed: int = 1) -> list[bytes]:
    """``count`` journal payloads of a seeded order flow, as a gateway sends them."""
    origin = Origin("trader-7", "127.0.0.1:51234", "grpc")
    return [
        encode(command, f"cl-{index:08d}", origin)
        for index, command in enumerate(generate(count, seed))
    ]


def _items(out: bytearray, items: list[bytes]) -> None:
    pack = _ITEM.pack
    for item in items:
        out += pack(len(item))
        out += item


def _split(frame: bytes, offset: int, count: int) -> list[bytes]:
    items = []
    unpack = _ITEM.unpack_from
    for _ in range(count):
        (length,) = unpack(frame, offset)
        offset += 2
        items.append(frame[offset : offset + length])
        offset += length
    if offset != len(frame):
        raise ValueError(f"frame of {len(frame)} bytes holds {offset} bytes of items")
    return items


def command_batch(first_request: int, commands: list[bytes]) -> bytes:
    out = bytearray(_COMMANDS.pack(first_request, len(commands)))
    _items(out, commands)
    return bytes(out)


def read_command_batch(frame: bytes) -> tuple[int, list[bytes]]:
    first_request, count = _COMMANDS.unpack_from(frame)
    return first_request, _split(frame, _COMMANDS.size, count)


def report_batch(first_request: int, first_sequence: int, reports: list[bytes]) -> bytes:
    out = bytearray(_REPORTS.pack(first_request, len(reports), first_sequence))
    _items(out, reports)
    return bytes(out)


def read_report_header(frame: bytes) -> tuple[int, int]:
    """The first request id and the count: all a gateway needs to match replies."""
    first_request, count, _ = _REPORTS.unpack_from(frame)
    return first_request, count


def committed_batch(first_sequence: int, payloads: list[bytes]) -> bytes:
    out = bytearray(_COMMITTED.pack(first_sequence, len(payloads)))
    _items(out, payloads)
    return bytes(out)


def read_committed(frame: bytes) -> tuple[int, list[bytes]]:
    first_sequence, count = _COMMITTED.unpack_from(frame)
    return first_sequence, _split(frame, _COMMITTED.size, count)


def length_prefixed(frame: bytes) -> bytes:
    return _LENGTH.pack(len(frame)) + frame


class FrameBuffer:
    """Whole length-prefixed frames out of the chunks a stream delivers."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        frames = []
        offset = 0
        size = len(buffer)
        while size - offset >= 4:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            end = offset + 4 + length
            if end > size:
                break
            frames.append(bytes(buffer[offset + 4 : end]))
            offset = end
        del buffer[:offset]
        return frames


@contextlib.contextmanager
def scratch_address(zmq: bool, name: str) -> Iterator[str]:
    """A fresh ``ipc://`` endpoint (for ZeroMQ) or socket path in a private
    directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="stx-ipc-") as directory:
        path = Path(directory) / f"{name}.sock"
        yield f"ipc://{path}" if zmq else str(path)


def wait_for(queue: Any, children: list[Any], timeout: float) -> Any:
    """The next item of ``queue``; an error as soon as a child process has
    failed, rather than at the end of ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=0.5)
        except Empty:
            failed = [child.exitcode for child in children if child.exitcode not in (None, 0)]
            if failed:
                raise RuntimeError(f"a benchmark process failed (exit code {failed[0]})") from None
    raise RuntimeError(f"no word from the benchmark processes in {timeout:.0f} s")
