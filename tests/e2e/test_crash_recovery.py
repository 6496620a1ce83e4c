"""kill -9 in the middle of an order stream loses nothing acknowledged.

``stx serve`` runs as a subprocess. A client streams batches of orders and
records which client order ids were acknowledged; the server is killed with
SIGKILL mid-stream and started again. Every acknowledged order must be
there, no client order id may exist twice, and the state the restarted
server snapshots at a clean stop must equal an independent replay of the
journal from the first record.
"""

from __future__ import annotations

import asyncio
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
from server.journal import load_latest_snapshot
from server.journal.codec import decode
from server.store import open_store
from tests.e2e.serve import (
    admin_token,
    channel,
    free_port,
    listed_client_order_ids,
    prepare_accounts,
    start_server,
)
from tests.server.store.journal_check import all_records, check_store_matches_journal

ACCOUNTS = tuple(f"acct{number}" for number in range(4))
"""The accounts the stream trades with, in turn."""


def _orders(batch: int, size: int) -> orders_pb2.OrderStreamRequest:
    commands = []
    for index in range(size):
        number = batch * size + index
        side = common_pb2.SIDE_BUY if number % 2 else common_pb2.SIDE_SELL
        price = 1_900_000 + (number % 7 - 3) * 100
        commands.append(
            orders_pb2.OrderCommand(
                place=orders_pb2.PlaceOrderRequest(
                    account_id=ACCOUNTS[number % len(ACCOUNTS)],
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
    streaming = channel(port)
    stub = orders_pb2_grpc.OrderServiceStub(streaming)
    sent = threading.Event()

    def requests() -> Iterator[orders_pb2.OrderStreamRequest]:
        for batch in range(10_000):
            yield _orders(batch, 50)
            sent.set()
            time.sleep(0.002)

    token = admin_token(port)

    def killer() -> None:
        sent.wait()
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    try:
        for response in stub.OrderStream(requests(), metadata=_bearer(token)):
            for report in response.reports:
                if report.exec_type == orders_pb2.EXEC_TYPE_NEW:
                    acknowledged.add(report.client_order_id)
    except grpc.RpcError:
        pass
    streaming.close()
    process.wait(10)
    return acknowledged


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _replayed_hash(data: Path) -> str:
    """Replay every record from the first, ignoring snapshots: an independent check."""
    engine = Engine()
    for _, payload in all_records(data):
        engine.process(decode(payload)[0])
    return engine.state_hash()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None  # the embedded default, in the data directory
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.mark.timeout(180)
def test_kill_9_mid_stream_loses_nothing_acknowledged(
    tmp_path: Path, database_url: str | None
) -> None:
    data = tmp_path / "data"
    port = free_port()
    first = start_server(data, port, database_url)
    # Funded, short selling allowed and no message-rate cap (the stream sends
    # thousands of orders a second), as an operator prepares a load account.
    prepare_accounts(port, admin_token(port), *ACCOUNTS)
    acknowledged = _stream_until_killed(port, first)
    assert first.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 50

    second = start_server(data, port, database_url)
    try:
        present = listed_client_order_ids(port)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert acknowledged <= set(present)
    assert len(present) == len(set(present))
    print(f"acknowledged {len(acknowledged)}, present after restart {len(present)}")

    snapshot = load_latest_snapshot(data)
    assert snapshot is not None
    assert snapshot["state_hash"] == _replayed_hash(data)
    # The store was being written when the kill came; the restarted server
    # resumed the projection and finished it before its clean stop.
    asyncio.run(_check_store(database_url or f"sqlite:///{data / 'stx.db'}", data))


async def _check_store(url: str, data: Path) -> None:
    store = await open_store(url)
    try:
        await check_store_matches_journal(store, data)
    finally:
        await store.close()
