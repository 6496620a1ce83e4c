"""Record framing and the reader's reasons for stopping."""

import struct
import zlib

import pytest

from server.journal import Problem, SegmentReader, encode_record, scan
from server.journal.format import HEADER, HEADER_SIZE, MAX_PAYLOAD, PREFIX_SIZE


def _segment(*records: tuple[int, bytes]) -> bytes:
    return HEADER + b"".join(encode_record(sequence, payload) for sequence, payload in records)


def test_header_and_record_layout() -> None:
    assert HEADER == b"STXJ\x01\x00"
    record = encode_record(7, b"abc")
    length, crc, sequence = struct.unpack_from("<IIQ", record)
    assert (length, sequence, record[PREFIX_SIZE:]) == (3, 7, b"abc")
    assert crc == zlib.crc32(struct.pack("<Q", 7) + b"abc")


def test_clean_segment_reads_back_with_empty_payloads() -> None:
    data = _segment((5, b"x"), (6, b""), (7, b"yz"))
    found = scan(data, 5)
    assert found.records == [(5, b"x"), (6, b""), (7, b"yz")]
    assert found.damage is None
    assert found.problem is None
    assert found.valid_end == len(data)
    assert found.next_sequence == 8


def test_header_only_segment_is_clean() -> None:
    found = scan(HEADER, 1)
    assert (found.records, found.damage, found.valid_end, found.next_sequence) == (
        [],
        None,
        HEADER_SIZE,
        1,
    )


def test_reader_yields_lazily_and_tracks_where_it_is() -> None:
    data = _segment((1, b"a"), (2, b"b"))
    reader = SegmentReader(data, 1)
    iterator = iter(reader)
    assert next(iterator) == (1, b"a")
    assert reader.valid_end == HEADER_SIZE + PREFIX_SIZE + 1
    assert reader.next_sequence == 2
    assert list(iterator) == [(2, b"b")]
    assert reader.count == 2


def _problem(data: bytes, first: int | None = 1) -> tuple[Problem, int, int]:
    found = scan(data, first)
    assert found.damage is not None
    assert found.valid_end == found.damage.offset
    return found.damage.problem, found.damage.offset, len(found.records)


def test_every_reason_to_stop_is_named_with_its_offset() -> None:
    good = _segment((1, b"first"))
    end = len(good)
    assert _problem(b"STX") == (Problem.TORN_HEADER, 0, 0)
    assert _problem(b"") == (Problem.TORN_HEADER, 0, 0)
    assert _problem(b"STXJ\x02\x00") == (Problem.BAD_HEADER, 0, 0)
    assert _problem(good + encode_record(2, b"second")[:10]) == (Problem.TORN_LENGTH, end, 1)
    assert _problem(good + encode_record(2, b"second")[:-1]) == (Problem.TORN_PAYLOAD, end, 1)
    absurd = struct.pack("<IIQ", MAX_PAYLOAD + 1, 0, 2)
    assert _problem(good + absurd) == (Problem.BAD_LENGTH, end, 1)
    flipped = bytearray(good + encode_record(2, b"second"))
    flipped[-1] ^= 0x01
    assert _problem(bytes(flipped)) == (Problem.CRC_MISMATCH, end, 1)
    wrong_sequence = bytearray(good + encode_record(2, b"x"))
    wrong_sequence[end + 8] = 3  # the sequence field, CRC left stale
    assert _problem(bytes(wrong_sequence)) == (Problem.CRC_MISMATCH, end, 1)
    assert _problem(good + encode_record(3, b"x")) == (Problem.SEQUENCE_GAP, end, 1)
    assert _problem(_segment((2, b"x"))) == (Problem.SEQUENCE_GAP, HEADER_SIZE, 0)


def test_without_a_first_sequence_any_start_is_accepted() -> None:
    assert scan(_segment((42, b"x"), (43, b"y")), None).records == [(42, b"x"), (43, b"y")]


@pytest.mark.parametrize("problem", list(Problem))
def test_only_header_and_sequence_damage_are_not_crash_artefacts(problem: Problem) -> None:
    expected = problem not in {Problem.BAD_HEADER, Problem.SEQUENCE_GAP}
    assert problem.crash_artefact is expected
