"""kill -9 of each process in turn, under load, loses and duplicates nothing.

``stx serve`` runs as a subprocess (TLS on, the feed encrypted), seen only
from outside. A thread streams orders at a steady rate, as a careful client
does: it keeps every order it sent until the server acknowledged it (a
report with a report sequence: new, rejected by the engine, or a fill); when
the stream breaks (the core or the gateway was killed) it reconnects, resumes
its accounts' reports after the last report sequence it saw, and sends every
unacknowledged order again with the same client order id. The server then
either takes it (the first copy never reached the core) or refuses it as a
duplicate (the first copy was kept): both are fine, a second order is not.

Meanwhile the core, the gateway, the feed and the projector are each killed
with SIGKILL, one at a time, each just after a message of orders went out;
after each, the supervisor restarts it and the load must get more orders
acknowledged before the next kill. The ^C that ends the server comes soon
after the projector's restart: its stop must still complete the store. Every
order sent must be in the journal exactly once, the report sequences the
client saw must have no gap and no repeat, the store must equal a replay of
the journal, and a fresh feed subscriber's books must equal the gateway's
GetDepth and the journal's replay (also the core's final snapshot).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import grpc
import pytest
from stocktraderx.v1 import (
    common_pb2,
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
)

from feeds import wire
from feeds.market import MarketState, SymbolMarket
from feeds.subscriber import FeedError, SymbolFeed
from matching import Engine, NewOrder, Side
from server.journal import load_latest_snapshot
from server.journal.codec import decode
from tests.e2e.serve import (
    admin_token,
    channel,
    check_store,
    free_port,
    prepare_accounts,
    roles_of,
    start_server,
)
from tests.server.store.journal_check import all_records

ACCOUNTS = ("KILLA", "KILLB")
"""KILLA sells, KILLB buys: they trade with each other, never with themselves."""
MIDS = {"AAPL": 1_900_000, "MSFT": 4_200_000}
"""Each symbol's middle price; orders go within two ticks of it both ways,
so some rest and some cross."""
TICK_SECONDS = 0.05
PER_MESSAGE = 25
"""Orders per message: 500 a second at one message every TICK_SECONDS."""
KILLED = ("core", "gateway", "feed", "projector")
"""The projector last: the ^C then comes soon after its restart, and the stop
must still leave the store complete."""
MORE_AFTER_RESTART = 150
"""Orders the load must get acknowledged after a restart before the next kill."""
WAIT = 60.0
DEPTH = 1_000
ACKNOWLEDGING = frozenset(
    (
        orders_pb2.EXEC_TYPE_NEW,
        orders_pb2.EXEC_TYPE_REJECTED,
        orders_pb2.EXEC_TYPE_PARTIAL_FILL,
        orders_pb2.EXEC_TYPE_FILL,
    )
)
"""Reports that, with a report sequence, say the order was journaled."""


def _order(number: int) -> orders_pb2.PlaceOrderRequest:
    symbol = tuple(MIDS)[number // 2 % 2]
    return orders_pb2.PlaceOrderRequest(
        account_id=ACCOUNTS[number % 2], client_order_id=f"k{number}", symbol=symbol,
        side=common_pb2.SIDE_BUY if number % 2 else common_pb2.SIDE_SELL,
        order_type=common_pb2.ORDER_TYPE_LIMIT, quantity=100,
        price=MIDS[symbol] + (number % 5 - 2) * 100,
    )  # fmt: skip


class _Load:
    """Order streams from a thread of their own, reconnecting and resending
    until every order sent is acknowledged."""

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._lock = threading.Lock()
        self.sent = 0
        self.unacknowledged: dict[str, orders_pb2.PlaceOrderRequest] = {}
        """Sent and not yet acknowledged, oldest first: resent on each reconnect."""
        self.acknowledged: set[str] = set()
        self.kept: set[str] = set()
        """Refused as duplicates on a resend: the first copy was kept."""
        self.refused: list[str] = []
        """Any other refusal (none is expected)."""
        self.report_sequences: dict[str, list[int]] = {account: [] for account in ACCOUNTS}
        self.breaks: Counter[str] = Counter()
        """How the streams ended, by gRPC status."""
        self.resent = 0
        self.placing = threading.Event()
        self.placing.set()
        self.went_out = threading.Event()
        """Set when a message of new orders has been handed to gRPC."""
        self.failure: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def settled(self) -> bool:
        with self._lock:
            return not self.unacknowledged

    def finish(self) -> None:
        self._done.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the load did not stop"

    def _run(self) -> None:
        try:
            while not self._done.is_set():
                self._stream()
        except BaseException as error:  # reported by the test, not lost in a thread
            self.failure = error

    def _stream(self) -> None:
        ended = threading.Event()
        with self._lock:
            after = {
                account: max(numbers, default=0)
                for account, numbers in self.report_sequences.items()
            }
            resend = list(self.unacknowledged.values())
            self.resent += len(resend)
        opened = channel(self._port)
        call = orders_pb2_grpc.OrderServiceStub(opened).OrderStream(
            self._requests(after, resend, ended), metadata=self._metadata
        )
        try:
            for response in call:
                self._take(response.reports)
        except grpc.RpcError as error:
            self.breaks[error.code().name] += 1
            time.sleep(0.2)  # the restarted process is not back yet: try again
        finally:
            with self._lock:
                # No order is made for this stream once the next one took its
                # list of orders to resend.
                ended.set()
            call.cancel()  # type: ignore[no-untyped-call]  # grpc's stubs leave it untyped
            opened.close()

    def _requests(
        self,
        after: dict[str, int],
        resend: list[orders_pb2.PlaceOrderRequest],
        ended: threading.Event,
    ) -> Iterator[orders_pb2.OrderStreamRequest]:
        subscriptions = [
            orders_pb2.ReportSubscription(account_id=account, after_report_sequence=number)
            for account, number in after.items()
        ]
        yield orders_pb2.OrderStreamRequest(
            subscriptions=subscriptions,
            commands=[orders_pb2.OrderCommand(place=order) for order in resend],
        )
        while not (ended.wait(TICK_SECONDS) or self._done.is_set()):
            if not self.placing.is_set():
                continue
            with self._lock:
                if ended.is_set():
                    return
                orders = [_order(number) for number in range(self.sent, self.sent + PER_MESSAGE)]
                self.sent += PER_MESSAGE
                self.unacknowledged.update((order.client_order_id, order) for order in orders)
            yield orders_pb2.OrderStreamRequest(
                commands=[orders_pb2.OrderCommand(place=order) for order in orders]
            )
            # gRPC asks for the next message once it has sent this one.
            self.went_out.set()

    def _take(self, reports: Iterable[orders_pb2.ExecutionReport]) -> None:
        with self._lock:
            for report in reports:
                client_order_id = report.client_order_id
                if report.report_sequence:
                    self.report_sequences[report.account_id].append(report.report_sequence)
                    if report.exec_type in ACKNOWLEDGING:
                        self.acknowledged.add(client_order_id)
                        self.unacknowledged.pop(client_order_id, None)
                    continue
                if report.reject_reason == common_pb2.REJECT_REASON_DUPLICATE_CLIENT_ORDER_ID:
                    self.kept.add(client_order_id)
                else:
                    self.refused.append(f"{client_order_id}: {report.text}")
                self.unacknowledged.pop(client_order_id, None)


def _until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened within {seconds:.0f} s: {what}")
        time.sleep(0.1)


def _kill_and_wait(server: subprocess.Popen[bytes], role: str, load: _Load, log: Path) -> None:
    """SIGKILL ``role``; wait until it runs again and the load got more orders through."""
    old = roles_of(server.pid)[role]
    # Just after a message went out: its orders are on their way through the
    # gateway and the core, the moment a kill can lose an answer.
    load.went_out.clear()
    assert load.went_out.wait(10)
    time.sleep(0.002)
    os.kill(old, signal.SIGKILL)
    _until(lambda: roles_of(server.pid).get(role, old) != old, f"{role} restarted")
    assert f"{role} exited with code -9; restart 1 of 3" in log.read_text()
    target = load.count() + MORE_AFTER_RESTART
    _until(lambda: load.count() >= target, f"orders acknowledged after the {role} restarted")


Book = tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int]]]
"""A symbol's level 2: (channel sequence, bids best first, asks best first),
each level (price, quantity, order count)."""


def _gateway_books(port: int) -> dict[str, Book]:
    books: dict[str, Book] = {}
    with channel(port) as opened:
        stub = market_data_pb2_grpc.MarketDataServiceStub(opened)
        for symbol in MIDS:
            depth = stub.GetDepth(
                market_data_pb2.GetDepthRequest(symbol=symbol, depth=DEPTH), timeout=10
            ).depth
            books[symbol] = (
                depth.channel_sequence,
                [(level.price, level.quantity, level.order_count) for level in depth.bids],
                [(level.price, level.quantity, level.order_count) for level in depth.asks],
            )
    return books


def _feed_books(feed_port: int, server_key: bytes) -> dict[str, Book]:
    """Each symbol's book as a new subscriber of the ZeroMQ feed starts it: a snapshot."""
    books: dict[str, Book] = {}
    for symbol in MIDS:
        feed = SymbolFeed(
            f"tcp://127.0.0.1:{feed_port}", f"tcp://127.0.0.1:{feed_port + 1}", symbol,
            (wire.L2,), server_key=server_key,
        )  # fmt: skip
        try:
            feed.synchronise()
            last = feed.state[wire.L2].last
            assert last is not None
            books[symbol] = (last, *_sides(feed.book))
        finally:
            feed.close()
    return books


def _replayed(data: Path) -> MarketState:
    """The public market as a replay of the whole journal from record 1 makes it."""
    engine, market = Engine(), MarketState()
    for sequence, payload in all_records(data):
        command = decode(payload)[0]
        market.apply(sequence, command, engine.process(command))
    return market


def _replayed_books(market: MarketState) -> dict[str, Book]:
    return {
        symbol: (market.markets[symbol].l2_sequence, *_sides(market.markets[symbol]))
        for symbol in MIDS
    }


def _sides(
    book: SymbolMarket,
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    bids, asks = book.top(Side.BUY, DEPTH), book.top(Side.SELL, DEPTH)
    return [(*level,) for level in bids], [(*level,) for level in asks]


@pytest.mark.timeout(240)
def test_kill_9_of_each_process_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port, feed_port = free_port(), free_port()
    server = start_server(data, port, feed_port=feed_port)
    log = tmp_path / "serve.log"
    load: _Load | None = None
    try:
        prepare_accounts(port, admin_token(port), *ACCOUNTS)
        load = _Load(port, admin_token(port))
        _until(lambda: load.count() >= MORE_AFTER_RESTART, "the load under way")
        for role in KILLED:
            _kill_and_wait(server, role, load, log)
            assert load.failure is None, load.failure
        load.placing.clear()
        _until(load.settled, "every order sent acknowledged")
        load.finish()
        assert load.failure is None, load.failure
        # The feed and the gateway follow the core from processes of their own.
        server_key = (data / "tls" / "feed-server.pub").read_bytes().strip()
        live: dict[str, Book] = {}

        def feed_converged() -> bool:
            live.update(_gateway_books(port))
            try:
                return _feed_books(feed_port, server_key) == live
            except FeedError:  # the restarted feed is still catching up
                return False

        _until(feed_converged, "the feed's books equal the gateway's")
        server.send_signal(signal.SIGINT)
        assert server.wait(90) == 0
    finally:
        if load is not None:
            load.finish()
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert "stopped cleanly" in log.read_text()
    print(
        f"sent {load.sent}, acknowledged {len(load.acknowledged)}, resent {load.resent}, "
        f"kept on resend {len(load.kept)}, streams broken {dict(load.breaks)}"
    )
    assert load.breaks["UNAVAILABLE"] >= 2  # the core's kill and the gateway's
    assert load.refused == []

    # Every order sent is in the journal exactly once; none other is.
    placed = Counter(
        client_order_id
        for _, payload in all_records(data)
        for command, client_order_id in [decode(payload)]
        if isinstance(command, NewOrder) and command.account in ACCOUNTS
    )
    assert [key for key, times in placed.items() if times > 1] == []
    sent = {f"k{number}" for number in range(load.sent)}
    assert sent - set(placed) == set(), "acknowledged, not journaled"
    assert set(placed) - sent == set(), "journaled, never sent"
    assert load.acknowledged | load.kept == sent

    # Resuming by report sequence: no report missed or seen twice.
    for account, numbers in load.report_sequences.items():
        assert numbers == list(range(1, len(numbers) + 1)), account

    # The store, the feed and the core's final snapshot all equal the journal.
    asyncio.run(check_store(data))
    market = _replayed(data)
    assert _replayed_books(market) == live
    for symbol, (_, bids, asks) in live.items():  # orders rested and traded
        assert bids, symbol
        assert asks, symbol
        assert market.markets[symbol].volume > 0, symbol
    snapshot = load_latest_snapshot(data)
    assert snapshot is not None
    assert snapshot["sequence"] == len(all_records(data))
    assert snapshot["data"]["market"] == json.loads(json.dumps(market.snapshot()))
