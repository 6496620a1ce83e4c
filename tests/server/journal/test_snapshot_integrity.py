"""Every byte of a snapshot is covered by its checksum: a change anywhere is
detected and the snapshot skipped, never loaded."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from matching import NewOrder
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability, JournalCorruptError, load_latest_snapshot, recover
from server.journal.snapshots import load_snapshot_at_or_before, write_snapshot

PARTS = {
    "engine": {"books": {"AAPL": [[1, "buy", 100]]}, "now": 5},
    "orders": {"records": [[1001, "q1-1001", "ACCT"]]},
    "market": {"AAPL": {"last": 1900000}},
}


def _changed(raw: bytes, offset: int) -> bytes:
    """``raw`` with the byte at ``offset`` changed: a letter for a letter, as
    someone editing the file would, otherwise one bit."""
    byte = raw[offset]
    if chr(byte).isalpha():
        replacement = ord("b") if chr(byte).lower() == "a" else ord("a")
    else:
        replacement = byte ^ 0x01
    return raw[:offset] + bytes([replacement]) + raw[offset + 1 :]


def test_a_change_to_any_byte_of_a_snapshot_is_detected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_snapshot(tmp_path, 3, "older", {"n": 3})
    path = write_snapshot(tmp_path, 9, "newest", PARTS)
    raw = path.read_bytes()
    header_end = raw.index(b"\n")
    for offset in range(len(raw)):
        path.write_bytes(_changed(raw, offset))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="server.journal"):
            snapshot = load_latest_snapshot(tmp_path)
            at_or_before = load_snapshot_at_or_before(tmp_path, 9)
        assert snapshot is not None
        assert snapshot["state_hash"] == "older", offset
        assert at_or_before == snapshot
        assert f"skipping snapshot {path.name}" in caplog.text
        if offset > header_end:
            assert "SHA-256 mismatch" in caplog.text, offset
    path.write_bytes(raw)
    restored = load_latest_snapshot(tmp_path)
    assert restored is not None
    assert restored["data"] == PARTS


@pytest.mark.parametrize("part", ["engine", "orders", "market"])
def test_a_changed_letter_in_each_part_of_a_real_snapshot_is_detected(
    tmp_path: Path, part: str
) -> None:
    _trade_and_snapshot(tmp_path)
    (path,) = tmp_path.glob("snapshot-*.json")
    raw = path.read_bytes()
    start = raw.index(f'"{part}":'.encode()) + len(part) + 4
    letter = next(offset for offset in range(start, len(raw)) if chr(raw[offset]).isalpha())
    path.write_bytes(_changed(raw, letter))
    assert load_latest_snapshot(tmp_path) is None


def test_a_format_1_snapshot_is_loaded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "snapshot-00000000000000000004.json"
    legacy = {"format": 1, "sequence": 4, "state_hash": "h", "data": PARTS}
    path.write_text(json.dumps(legacy))
    with caplog.at_level(logging.WARNING, logger="server.journal"):
        assert load_latest_snapshot(tmp_path) == legacy
    assert "format 1 (no checksum" in caplog.text


def _trade_and_snapshot(directory: Path) -> dict[int, str]:
    """Orders with client order ids ``q1-<n>``, a clean stop (which writes a
    snapshot); returns each order's client order id."""

    async def scenario() -> dict[int, str]:
        core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE)
        flow = OrderFlow(core.engine, 7)
        for index in range(1, 1_201):
            command = flow.next_command()._replace(timestamp=core.sequencer.now())
            client_order_id = f"q1-{index}" if isinstance(command, NewOrder) else ""
            flow.observe(core.sequencer.submit(command, client_order_id).events)
        await core.sequencer.durable()
        ids = {number: record.client_order_id for number, record in core.registry.orders.items()}
        await core.close()
        return ids

    return asyncio.run(scenario())


def test_the_filed_case_a_client_order_id_changed_in_the_registry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One letter of a client order id changed inside the snapshot's order
    registry: the snapshot is refused and a full replay restores the truth."""
    ids = _trade_and_snapshot(tmp_path)
    order_id, original = next((n, c) for n, c in sorted(ids.items()) if c.endswith("1"))
    (path,) = tmp_path.glob("snapshot-*.json")
    raw = path.read_bytes()
    registry_part = raw.index(b'"orders":')
    at = raw.index(f'"{original}"'.encode(), registry_part)
    forged = original[:-1] + "0"
    path.write_bytes(raw[:at] + f'"{forged}"'.encode() + raw[at + len(original) + 2 :])
    with caplog.at_level(logging.WARNING):
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
    assert f"skipping snapshot {path.name}: SHA-256 mismatch" in caplog.text
    assert core.recovered.snapshot_sequence == 0  # replayed from the first record
    assert core.registry.orders[order_id].client_order_id == original
    core.writer.close_sync()


def test_a_refused_snapshot_whose_records_are_gone_stops_start_up(tmp_path: Path) -> None:
    _trade_and_snapshot(tmp_path)
    (path,) = tmp_path.glob("snapshot-*.json")
    segments = sorted(tmp_path.glob("journal-*.log"))
    for segment in segments[:-1]:
        segment.unlink()  # as pruning leaves it after later snapshots
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(JournalCorruptError, match=r"records 1\.\.\d+ are missing"):
        recover(tmp_path)
