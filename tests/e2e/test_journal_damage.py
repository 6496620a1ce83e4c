"""Journal and snapshot damage against a real ``stx serve``: the filed cases, the repair,
the store left ahead of the repaired journal, and the data directory's
permissions and lock."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

from tests.e2e.serve import (
    STX,
    admin_token,
    channel,
    free_port,
    listed_client_order_ids,
    prepare_accounts,
    start_server,
)

ACCOUNT = "JRNL"


def _place(port: int, prefix: str, count: int) -> list[str]:
    """``count`` resting buy orders ``<prefix>-<n>``, each acknowledged."""
    token = admin_token(port)
    ids = [f"{prefix}-{number}" for number in range(count)]
    with channel(port) as opened:
        stub = orders_pb2_grpc.OrderServiceStub(opened)
        for client_order_id in ids:
            stub.PlaceOrder(
                orders_pb2.PlaceOrderRequest(
                    account_id=ACCOUNT, client_order_id=client_order_id, symbol="AAPL",
                    side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
                    quantity=1, price=1_890_000,
                ),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=10,
            )  # fmt: skip
    return ids


def _refused_start(data: Path) -> str:
    """Run ``stx serve`` expecting it to refuse; its output."""
    environ = {**os.environ, "STX_REST_PORT": str(free_port())}
    environ.update(STX_FEED_PORT=str(free_port()), STX_SNAPSHOT_PORT=str(free_port()))
    environ.pop("STX_DATABASE_URL", None)
    done = subprocess.run(
        [str(STX), "serve", "--data-dir", str(data), "--grpc-port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=environ, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def _journal(data: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STX), "journal", *arguments, "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0


@pytest.mark.timeout(240)
def test_a_flipped_byte_mid_segment_stops_the_start_until_an_explicit_repair(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port)
    prepare_accounts(port, admin_token(port), ACCOUNT)
    before = _place(port, "a", 20)
    _stop(server)  # a clean stop: snapshot, and the store complete
    backup = tmp_path / "store-backup"
    backup.mkdir()
    for file in data.glob("stx.db*"):
        shutil.copy2(file, backup / file.name)

    server = start_server(data, port)
    after = _place(port, "b", 200)
    # The store must hold them all before the kill, so that it ends up past
    # the repaired journal's end; on a loaded machine it can lag behind.
    deadline = time.monotonic() + 60
    while not set(after) <= set(listed_client_order_ids(port, ACCOUNT)):
        assert time.monotonic() < deadline, "the store never caught up with the orders"
        time.sleep(0.2)
    server.send_signal(signal.SIGKILL)  # b-* stay in the active segment
    server.wait(10)
    segment = sorted(data.glob("journal-*.log"))[-1]
    damaged = bytearray(segment.read_bytes())
    damaged[len(damaged) // 2] ^= 0x20
    segment.write_bytes(bytes(damaged))

    refusal = _refused_start(data)
    assert f"cannot start: {segment}, offset " in refusal
    assert "intact records follow it" in refusal
    assert f"stx journal repair --data-dir {data}" in refusal
    assert segment.read_bytes() == bytes(damaged)  # nothing was cut

    verify = _journal(data, "verify")
    assert verify.returncode == 1
    assert "DAMAGED: CRC mismatch" in verify.stdout
    dry = _journal(data, "repair")
    assert dry.returncode == 0, dry.stderr
    assert "LOST: records" in dry.stdout
    assert "store (sqlite) at sequence" in dry.stdout
    assert "PAST the new end of the journal" in dry.stdout
    assert segment.read_bytes() == bytes(damaged)
    assert "analytics store at sequence" in dry.stdout
    repaired = _journal(data, "repair", "--accept-loss")
    assert repaired.returncode == 0, repaired.stderr
    assert "LOST: records" in repaired.stdout
    # The analytics store is derived from the journal alone: one past the new
    # end (it may also still lag behind it) is moved aside and rebuilt.
    if "analytics store at sequence" in repaired.stdout and "rebuilds it" in repaired.stdout:
        assert not (data / "analytics.duckdb").exists()
        assert list(data.glob("damaged-*/analytics.duckdb"))

    # The store projected records the journal no longer has: refused too.
    assert "the store holds records up to sequence" in _refused_start(data)
    for file in data.glob("stx.db*"):
        file.unlink()
    for file in backup.iterdir():
        shutil.copy2(file, data / file.name)

    server = start_server(data, port)
    try:
        listed = listed_client_order_ids(port, ACCOUNT)
    finally:
        _stop(server)
    assert set(before) <= set(listed)
    kept = [client_order_id for client_order_id in after if client_order_id in listed]
    assert 0 < len(kept) < len(after)
    assert kept == after[: len(kept)]  # exactly the orders before the damage
    assert len(listed) == len(set(listed))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _check_private(data: Path) -> set[str]:
    """Every folder 0700 and every file 0600 under ``data``; the names."""
    assert _mode(data) == 0o700
    for path in data.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, f"{path} is {_mode(path):04o}"
    return {path.name for path in data.iterdir()}


@pytest.mark.timeout(120)
def test_a_fresh_data_directory_is_private_and_held_by_one_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port)
    try:
        names = _check_private(data)  # while running: SQLite's -wal and -shm exist
        assert {"stx.db", "stx.db-wal", "stx.db-shm", "stx.lock", "keys"} <= names
        assert any(name.startswith("journal-") for name in names)
        refusal = _refused_start(data)
        assert f"another server is already running on {data} (process {server.pid}" in refusal
    finally:
        _stop(server)
    assert any(name.startswith("snapshot-") for name in _check_private(data))


@pytest.mark.timeout(120)
def test_a_client_order_id_changed_in_a_snapshot_is_not_served(tmp_path: Path) -> None:
    """The filed case: one letter of a client order id changed inside the
    snapshot's order registry listed order 11 under another order's id."""
    data = tmp_path / "data"
    port = free_port()
    server = start_server(data, port)
    prepare_accounts(port, admin_token(port), ACCOUNT)
    placed = _place(port, "q1", 20)
    _stop(server)  # writes the snapshot
    (snapshot,) = data.glob("snapshot-*.json")
    raw = snapshot.read_bytes()
    at = raw.index(b'"q1-11"', raw.index(b'"orders":'))
    snapshot.write_bytes(raw[:at] + b'"q1-10"' + raw[at + 7 :])

    server = start_server(data, port)
    try:
        listed = listed_client_order_ids(port, ACCOUNT)
    finally:
        _stop(server)
    assert sorted(listed) == sorted(placed)
    log = (tmp_path / "serve.log").read_text()
    assert f"skipping snapshot {snapshot.name}: SHA-256 mismatch" in log
