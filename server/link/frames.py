"""The link's frames: what crosses ``core.sock`` in each direction.

Every frame is a ``u32`` little-endian length, one kind byte, then the body.
Small control bodies are orjson arrays (readable in a packet capture, cheap
at a few per connection); the hot bodies carry journal payloads as raw
length-prefixed bytes, so the core sends exactly the bytes it journaled and a
gateway exactly the bytes the core will decode, with no base64 or escaping
in between (decision 0002 measured this framing over Unix sockets).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

import orjson

HELLO_ROLES = ("gateway", "consumer", "follower")
"""Who says HELLO: a gateway (commands in, RESULTs and batches out), a
consumer (every batch at once: market data) and a follower (a consumer
behind by design, which takes batches in bursts: the core holds them a
moment and writes what gathered in one go)."""
_LENGTH = struct.Struct("<I")
_HEAD = struct.Struct("<IB")
"""The frame's length (kind byte included) and its kind."""
_RUN = struct.Struct("<QI")
"""A run of payloads: the first sequence (or request id) and the count."""
MAX_FRAME = 256 * 1024 * 1024
"""A larger length can only be a peer speaking something else."""


class Kind(IntEnum):
    HELLO = 1
    WELCOME = 2
    BATCH = 3
    COMMANDS = 4
    RESULT = 5
    ACK = 6
    """Replication: the standby's highest durable sequence (``[sequence]``)."""
    HASH = 7
    """Replication: the primary's engine state hash after a sequence
    (``[sequence, hash]``), for the standby to compare with its own."""
    REFUSE = 8
    """Replication: the primary will not feed this standby (``[reason]``);
    the standby stops rather than retry."""


class FrameError(ValueError):
    """Bytes that are not a frame of this protocol: the peer is closed on."""


def control(kind: Kind, body: Sequence[Any]) -> bytes:
    """A HELLO, WELCOME or RESULT frame: an orjson array."""
    data = orjson.dumps(body)
    return _HEAD.pack(len(data) + 1, kind) + data


def run(kind: Kind, first: int, payloads: Sequence[bytes]) -> bytes:
    """A BATCH (first sequence) or COMMANDS (first request id) frame."""
    pack = _LENGTH.pack
    parts = [b"", _RUN.pack(first, len(payloads))]
    for payload in payloads:
        parts.append(pack(len(payload)))
        parts.append(payload)
    body = b"".join(parts)
    return _HEAD.pack(len(body) + 1, kind) + body


def read_control(body: bytes) -> list[Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FrameError(f"a control frame that is not JSON: {body[:80]!r}") from error
    if type(value) is not list:
        raise FrameError(f"a control frame that is not an array: {body[:80]!r}")
    return value


def run_header(body: bytes) -> tuple[int, int]:
    """The first number and the count of a run, without its payloads."""
    if len(body) < _RUN.size:
        raise FrameError("a run frame shorter than its header")
    first, count = _RUN.unpack_from(body)
    return first, count


def read_run(body: bytes) -> tuple[int, list[bytes]]:
    """The first number and the payloads of a BATCH or COMMANDS frame."""
    first, count = run_header(body)
    payloads = []
    offset = _RUN.size
    unpack = _LENGTH.unpack_from
    size = len(body)
    for _ in range(count):
        if offset + 4 > size:
            raise FrameError("a run frame that ends inside a length")
        (length,) = unpack(body, offset)
        offset += 4
        if offset + length > size:
            raise FrameError("a run frame that ends inside a payload")
        payloads.append(body[offset : offset + length])
        offset += length
    if offset != size:
        raise FrameError(f"{size - offset} bytes after the last payload of a run")
    return first, payloads


class Reader:
    """Whole frames out of the chunks a stream socket delivers."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        """The ``(kind, body)`` of every frame completed by ``chunk``."""
        data = self._data
        data += chunk
        frames = []
        offset = 0
        size = len(data)
        unpack = _HEAD.unpack_from
        while size - offset >= _HEAD.size:
            length, kind = unpack(data, offset)
            if length < 1 or length > MAX_FRAME:
                raise FrameError(f"a frame of {length} bytes")
            end = offset + 4 + length
            if end > size:
                break
            frames.append((kind, bytes(data[offset + _HEAD.size : end])))
            offset = end
        if offset:
            del data[:offset]
        return frames
