"""A few thousand mixed orders through a real ``stx serve``, every feature on.

The server runs as ``make run`` starts it (TLS, store, ZeroMQ feed with
CurveZMQ, sign-in, risk, surveillance), as a subprocess; the test sees it
only from outside (gRPC, the feed, the files of its data directory), so it
holds whether ``stx serve`` is one process or supervises several. No timing
is asserted: every order must be acknowledged, the journal must hold every
command, the store must catch up with the journal, and the feed must have
carried every trade the journal's replay makes.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy
import uvloop
import zmq
from stocktraderx.v1 import market_data_pb2

from clients.loadtest import LoadSpec, run_load
from feeds.curve import connect_securely
from matching import CancelOrder, Engine, NewOrder, Trade
from server.journal.codec import decode
from server.journal.format import scan
from server.store import schema
from server.store.database import PROJECTION
from tests.e2e.serve import admin_token, client_tls, free_port, start_server

WAIT = 30.0
"""Seconds the store and the feed get to catch up once the load is answered
(generous: a loaded CI machine; nothing here is a timing assertion)."""


class _TradeTape:
    """Every trade id the ZeroMQ feed publishes, from a thread of its own."""

    def __init__(self, endpoint: str, server_key: bytes) -> None:
        self.trade_ids: set[int] = set()
        self.messages = 0
        self._stop = threading.Event()
        self._socket: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RCVHWM, 0)  # keep every message: a lost one fails the test
        connect_securely(self._socket, server_key)
        self._socket.connect(endpoint)
        self._socket.setsockopt(zmq.SUBSCRIBE, b"")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._socket.poll(100):
                continue
            _, body = self._socket.recv_multipart()
            self.messages += 1
            message = market_data_pb2.SubscribeMarketDataResponse.FromString(body)
            if message.WhichOneof("event") == "trade":
                self.trade_ids.add(message.trade.trade_id)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()


def _journal(data: Path) -> list[bytes]:
    """The records written so far, in sequence order (a record being written
    at the end of the last segment is left out)."""
    records: list[bytes] = []
    for path in sorted(data.glob("journal-*.log")):
        records.extend(payload for _, payload in scan(path.read_bytes()).records)
    return records


def _store_position(data: Path) -> int:
    """The last journal sequence the store holds, read as any SQL client would."""
    engine = sqlalchemy.create_engine(f"sqlite:///file:{data / 'stx.db'}?mode=ro&uri=true")
    try:
        with engine.connect() as connection:
            found = connection.scalar(
                sqlalchemy.select(schema.projection.c.last_sequence).where(
                    schema.projection.c.name == PROJECTION
                )
            )
    finally:
        engine.dispose()
    return int(found or 0)


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {WAIT:.0f} s")
        time.sleep(0.2)


@pytest.mark.timeout(180)
def test_thousands_of_mixed_orders_are_acknowledged_journaled_stored_and_published(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    port, feed_port = free_port(), free_port()
    server = start_server(data, port, feed_port=feed_port)
    feed_key = (data / "tls" / "feed-server.pub").read_bytes().strip()
    tape = _TradeTape(f"tcp://127.0.0.1:{feed_port}", feed_key)
    try:
        # The feed's heartbeats show the subscription is live before trading.
        _eventually(lambda: tape.messages > 0, "no heartbeat from the feed")
        spec = LoadSpec(
            f"127.0.0.1:{port}", rate=2_000, duration=2, streams=2, batch=10,
            crossing=0.3, cancel=0.2, token=admin_token(port), tls=client_tls(port),
        )  # fmt: skip
        result = uvloop.run(run_load(spec))
        assert result.offered == 4_000
        assert (result.acknowledged, result.errors) == (result.offered, 0)

        def orders_and_cancels() -> Counter[type]:
            commands = (decode(payload)[0] for payload in _journal(data))
            return Counter(
                type(command) for command in commands
                if isinstance(command, NewOrder | CancelOrder)
                and command.account.startswith("LOAD")
            )  # fmt: skip

        _eventually(
            lambda: orders_and_cancels().total() == result.offered, "the journal lacks commands"
        )
        assert orders_and_cancels()[CancelOrder] > 0, "the load sent no cancel"
        records = _journal(data)
        _eventually(
            lambda: _store_position(data) >= len(records), "the store did not reach the journal"
        )
        engine, trades = Engine(), set[int]()
        for payload in records:
            command = decode(payload)[0]
            events = engine.process(command)
            trades.update(event.trade_id for event in events if isinstance(event, Trade))
        assert trades, "the load made no trade"
        _eventually(lambda: tape.trade_ids >= trades, "the feed missed trades")
        assert tape.trade_ids == trades
    finally:
        tape.close()
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert server.returncode == 0
