"""FIX tag=value framing: BodyLength framing, CheckSum, field splitting and encoding.

The framer follows the reference engine's rules so that a peer sees the same
behaviour from us as from QuickFIX: a frame starts at "8=", its body is
BodyLength bytes long, and it ends at the first "<SOH>10=...<SOH>" found from
the end of that body. A wrong BodyLength therefore still yields one frame (the
reference engine's parser too), and the frame is then refused whole by
`check_frame` because its declared and actual lengths or checksums disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

SOH = b"\x01"
_BEGIN = b"8="
_LENGTH = b"\x019="
_CHECKSUM = b"\x0110="

# A frame larger than this is a broken or hostile peer, never a FIX message.
MAX_FRAME_BYTES = 1 << 20


class FrameError(ValueError):
    """The byte stream cannot be framed (BodyLength is not a number)."""


def checksum(data: bytes) -> int:
    """FIX CheckSum: the byte sum modulo 256."""
    return sum(data) & 0xFF


@dataclass(slots=True)
class Framer:
    """Cuts a TCP byte stream into raw FIX frames (still unverified)."""

    buffer: bytearray

    @classmethod
    def empty(cls) -> Framer:
        return cls(bytearray())

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete frame, None if more bytes are needed.

        Raises FrameError on a non-numeric BodyLength, after dropping the bytes
        of that frame's start so that the caller can carry on with the rest.
        """
        buf = self.buffer
        start = buf.find(_BEGIN)
        if start < 0:
            # Keep a trailing "8" that may be the start of the next frame.
            del buf[: max(0, len(buf) - 1)]
            return None
        del buf[:start]
        length_at = buf.find(_LENGTH)
        if length_at < 0:
            self._check_size()
            return None
        value_at = length_at + len(_LENGTH)
        value_end = buf.find(SOH, value_at)
        if value_end < 0:
            self._check_size()
            return None
        text = bytes(buf[value_at:value_end])
        if not text.isdigit():
            del buf[:value_end]
            raise FrameError(f"BodyLength {text!r} is not a number")
        body_end = value_end + 1 + int(text)
        if len(buf) < body_end:
            self._check_size()
            return None
        trailer_at = buf.find(_CHECKSUM, body_end - 1)
        if trailer_at < 0:
            self._check_size()
            return None
        frame_end = buf.find(SOH, trailer_at + len(_CHECKSUM))
        if frame_end < 0:
            self._check_size()
            return None
        frame = bytes(buf[: frame_end + 1])
        del buf[: frame_end + 1]
        return frame

    def _check_size(self) -> None:
        if len(self.buffer) > MAX_FRAME_BYTES:
            self.buffer.clear()
            raise FrameError("frame larger than the limit")


def check_frame(frame: bytes) -> str | None:
    """Why a frame's BodyLength or CheckSum is wrong, None when both are right."""
    length_at = frame.find(_LENGTH)
    value_end = frame.find(SOH, length_at + len(_LENGTH))
    trailer_at = frame.rfind(_CHECKSUM)
    if length_at < 0 or value_end < 0 or trailer_at < 0:
        return "no BodyLength or CheckSum"
    declared = int(frame[length_at + len(_LENGTH) : value_end])
    actual = trailer_at + 1 - (value_end + 1)
    if declared != actual:
        return f"Expected BodyLength={actual}, Received BodyLength={declared}"
    text = frame[trailer_at + len(_CHECKSUM) : -1]
    expected = checksum(frame[: trailer_at + 1])
    if not text.isdigit() or int(text) != expected:
        return f"Expected CheckSum={expected}, Received CheckSum={text.decode('latin-1')}"
    return None


def encode(pairs: list[tuple[int, str]]) -> bytes:
    """A complete frame from BeginString first and the fields after BodyLength.

    `pairs[0]` is BeginString (8); BodyLength (9) and CheckSum (10) are computed.
    """
    begin = f"8={pairs[0][1]}\x01".encode("latin-1")
    body = "".join(f"{tag}={value}\x01" for tag, value in pairs[1:]).encode("latin-1")
    head = begin + f"9={len(body)}\x01".encode("latin-1")
    total = checksum(head) + checksum(body)
    return head + body + f"10={total & 0xFF:03d}\x01".encode("latin-1")
