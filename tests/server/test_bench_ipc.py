"""The pieces of ``stx bench ipc`` whose mistakes would skew its figures."""

import asyncio
from pathlib import Path

import pytest

from server.bench import ipc_commands, ipc_fanout
from server.bench.ipc_fanout import _Consumer
from server.bench.ipc_frames import (
    FrameBuffer,
    command_batch,
    committed_batch,
    length_prefixed,
    payloads,
    read_command_batch,
    read_committed,
    read_report_header,
    report_batch,
)
from server.journal.codec import decode
from server.journal.writer import Durability, JournalWriter


def test_the_payloads_are_journal_commands_of_the_documented_size() -> None:
    flow = payloads(200)
    assert all(60 <= len(payload) <= 130 for payload in flow)
    assert decode(flow[0])[1] == "cl-00000000"


def test_batches_read_back_as_written() -> None:
    flow = payloads(5)
    assert read_command_batch(command_batch(7, flow)) == (7, flow)
    assert read_report_header(report_batch(7, 100, flow)) == (7, 5)
    assert read_committed(committed_batch(41, flow)) == (41, flow)


def test_frames_are_whole_however_the_stream_cuts_them() -> None:
    frames = [committed_batch(1, payloads(3)), b"", committed_batch(4, payloads(2))]
    stream = b"".join(length_prefixed(frame) for frame in frames)
    buffer = FrameBuffer()
    received = [frame for offset in range(0, len(stream), 7)
                for frame in buffer.feed(stream[offset : offset + 7])]  # fmt: skip
    assert received == frames


def test_a_consumer_fills_a_gap_from_the_journal_and_counts_each_record_once(
    tmp_path: Path,
) -> None:
    writer = JournalWriter(tmp_path, durability=Durability.NONE)
    for sequence, payload in enumerate(payloads(10), start=1):
        writer.append(sequence, payload)
    writer.flush()
    consumer = _Consumer(tmp_path, batch=2)
    consumer.delivered(1, 3)
    consumer.delivered(7, 2)  # 4..6 were dropped on the way
    consumer.delivered(8, 3)  # overlaps what it has: 9 and 10 are new
    assert (consumer.received, consumer.caught_up, consumer.next_sequence) == (7, 3, 11)
    assert sorted(consumer.arrivals) == [0, 1, 2, 3, 4]
    asyncio.run(writer.close())


@pytest.mark.parametrize("kind", ipc_commands.CANDIDATES)
def test_every_command_gets_its_report_over_each_transport(kind: str) -> None:
    # run() raises unless the core numbered exactly the commands sent.
    figures = ipc_commands.run(kind, "latency", payloads(50), rate=500, count=50)
    assert figures["commands"] == 50
    assert 0 < figures["p50_us"] <= figures["p99_us"]
    assert figures["core_loop_cpu_us_per_command"] <= figures["core_cpu_us_per_command"]


@pytest.mark.parametrize("kind", ["zmq", "journal-poll"])
def test_every_consumer_ends_with_every_record_even_a_slow_one(kind: str) -> None:
    figures = ipc_fanout.run(
        kind, payloads(100), batch=10, batches_per_sec=200, duration=0.3, consumers=2, slow=True
    )
    assert figures["all_complete"]
    assert figures["batches"] > 0
    assert figures["dropped_consumers"] == 0
