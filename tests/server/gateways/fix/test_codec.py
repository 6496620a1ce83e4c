"""The FIX framer and encoder: BodyLength framing and CheckSum verification."""

from __future__ import annotations

import re

import pytest

from server.gateways.fix.codec import FrameError, Framer, check_frame, checksum, encode

HEARTBEAT = encode([(8, "FIX.4.4"), (35, "0"), (34, "2"), (49, "TW"), (56, "ISLD")])


def test_encode_computes_body_length_and_checksum() -> None:
    body = b"35=0\x0134=2\x0149=TW\x0156=ISLD\x01"
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    assert head + body + b"10=%03d\x01" % checksum(head + body) == HEARTBEAT
    assert check_frame(HEARTBEAT) is None


def test_frames_cut_from_a_stream_fed_in_pieces() -> None:
    framer = Framer.empty()
    stream = b"noise" + HEARTBEAT + HEARTBEAT
    for i in range(0, len(stream), 7):
        framer.feed(stream[i : i + 7])
    assert framer.next_frame() == HEARTBEAT
    assert framer.next_frame() == HEARTBEAT
    assert framer.next_frame() is None


def test_a_wrong_checksum_is_framed_then_refused() -> None:
    bad = HEARTBEAT[:-4] + b"%03d\x01" % ((checksum(HEARTBEAT[:-7]) + 1) % 256)
    framer = Framer.empty()
    framer.feed(bad)
    frame = framer.next_frame()
    assert frame == bad
    assert check_frame(frame) is not None
    assert "CheckSum" in (check_frame(frame) or "")


def test_a_short_body_length_still_frames_the_message_and_is_refused() -> None:
    short = re.sub(rb"\x019=\d+", b"\x019=5", HEARTBEAT, count=1)
    assert short != HEARTBEAT
    framer = Framer.empty()
    framer.feed(short)
    frame = framer.next_frame()
    assert frame == short
    assert "BodyLength" in (check_frame(frame) or "")


def test_a_long_body_length_waits_for_more_bytes() -> None:
    framer = Framer.empty()
    framer.feed(b"8=FIX.4.4\x019=500\x0135=0\x0110=000\x01")
    assert framer.next_frame() is None


def test_a_non_numeric_body_length_is_an_error_and_the_stream_goes_on() -> None:
    framer = Framer.empty()
    framer.feed(b"8=FIX.4.4\x019=x1\x0135=0\x0110=000\x01" + HEARTBEAT)
    with pytest.raises(FrameError):
        framer.next_frame()
    assert framer.next_frame() == HEARTBEAT
