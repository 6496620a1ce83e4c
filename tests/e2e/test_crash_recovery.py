"""kill -9 in the middle of an order stream loses nothing acknowledged.

``stx serve`` runs as a subprocess. A client streams batches of orders and
records which client order ids were acknowledged; the server is killed with
SIGKILL mid-stream and started again. Every acknowledged order must be
there, no client order id may exist twice, and the state the restarted
server snapshots at a clean stop must equal an independent replay of the
journal from the first record.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

from matching import Engine
from server.codec import decode
from server.journal.format import scan
from tests.e2e.serve import free_port, start_server


def _orders(batch: int, size: int) -> orders_pb2.OrderStreamRequest:
    commands = []
    for index in range(size):
        number = batch * size + index
        side = common_pb2.SIDE_BUY if number % 2 else common_pb2.SIDE_SELL
        price = 1_900_000 + (number % 7 - 3) * 100
        commands.append(
            orders_pb2.OrderCommand(
                place=orders_pb2.PlaceOrderRequest(
                    account_id=f"acct{number % 4}",
                    client_order_id=f"o{number}",
                    symbol="AAPL",
                    side=side,
                    order_type=common_pb2.ORDER_TYPE_LIMIT,
                    quantity=100,
                    price=price,
                )
            )
        )
    return orders_pb2.OrderStreamRequest(commands=commands)


def _stream_until_killed(port: int, process: subprocess.Popen[bytes]) -> set[str]:
    """Stream batches; kill the server once some are acknowledged."""
    acknowledged: set[str] = set()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = orders_pb2_grpc.OrderServiceStub(channel)
    sent = threading.Event()

    def requests() -> Iterator[orders_pb2.OrderStreamRequest]:
        for batch in range(10_000):
            yield _orders(batch, 50)
            sent.set()
            time.sleep(0.002)

    def killer() -> None:
        sent.wait()
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    try:
        for response in stub.OrderStream(requests()):
            for report in response.reports:
                if report.exec_type == orders_pb2.EXEC_TYPE_NEW:
                    acknowledged.add(report.client_order_id)
    except grpc.RpcError:
        pass
    channel.close()
    process.wait(10)
    return acknowledged


def _client_order_ids(port: int) -> list[str]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = orders_pb2_grpc.OrderServiceStub(channel)
    found: list[str] = []
    token = ""
    while True:
        page = stub.ListOrders(orders_pb2.ListOrdersRequest(page_size=1000, page_token=token))
        found.extend(order.client_order_id for order in page.orders)
        token = page.next_page_token
        if not token:
            channel.close()
            return found


def _replayed_hash(data: Path) -> str:
    """Replay every record from the first, ignoring snapshots: an independent check."""
    engine = Engine()
    for _, payload in _all_records(data):
        engine.process(decode(payload)[0])
    return engine.state_hash()


def _all_records(data: Path) -> list[tuple[int, bytes]]:
    records: list[tuple[int, bytes]] = []
    for path in sorted(data.glob("journal-*.log")):
        found = scan(path.read_bytes(), int(path.stem.split("-")[1]))
        assert found.problem is None, found.problem
        records.extend(found.records)
    assert [sequence for sequence, _ in records] == list(range(1, len(records) + 1))
    return records


@pytest.mark.timeout(120)
def test_kill_9_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    first = start_server(data, port)
    acknowledged = _stream_until_killed(port, first)
    assert first.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 50

    second = start_server(data, port)
    try:
        present = _client_order_ids(port)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert acknowledged <= set(present)
    assert len(present) == len(set(present))
    print(f"acknowledged {len(acknowledged)}, present after restart {len(present)}")

    (snapshot,) = sorted(data.glob("snapshot-*.json"))[-1:]
    assert json.loads(snapshot.read_text())["state_hash"] == _replayed_hash(data)
