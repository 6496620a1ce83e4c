"""What the subscriber does with bytes no publisher sends, over real sockets:
a raw PUB socket stands in for the feed and a raw ROUTER for the snapshot
service, so the test can send exactly the damage it means."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import zmq
from stocktraderx.v1 import market_data_pb2 as pb

from feeds import wire
from feeds.market import SymbolMarket
from feeds.subscriber import FeedError, SymbolFeed
from matching import Side, TradingPhase

LOOPBACK = "tcp://127.0.0.1:*"
EMPTY_BOOK = pb.SubscribeMarketDataResponse(
    depth_snapshot=pb.DepthSnapshot(
        symbol="AAPL",
        trading_phase=TradingPhase.CONTINUOUS,  # type: ignore[arg-type]
        checksum=SymbolMarket("AAPL", TradingPhase.CONTINUOUS, 0).checksum(),
    )
)


class SnapshotService:
    """A ROUTER on a thread of its own answering every request with ``answer``."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], answer: list[bytes]) -> None:
        self.router = context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(LOOPBACK)
        self.endpoint = self.router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.answer = answer
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            if self.router.poll(20):
                identity, *_ = self.router.recv_multipart()
                self.router.send_multipart([identity, *self.answer])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.router.close()


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


def _depth(sequence: int, side: int, price: int, quantity: int) -> bytes:
    book = SymbolMarket("AAPL", TradingPhase.CONTINUOUS, 0)
    if side in (Side.BUY, Side.SELL):
        book.set_level(Side(side), price, quantity, 1)
    update = pb.DepthUpdate(
        symbol="AAPL",
        changes=[pb.LevelChange(side=side, price=price, quantity=quantity, order_count=1)],  # type: ignore[arg-type]
        channel_sequence=sequence,
        checksum=book.checksum(),
    )
    return pb.SubscribeMarketDataResponse(depth_update=update).SerializeToString()


def test_unreadable_messages_are_counted_and_dropped_and_the_book_stays_whole(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    service = SnapshotService(context, [b"OK", EMPTY_BOOK.SerializeToString()])
    publisher = context.socket(zmq.PUB)
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.bind(LOOPBACK)
    feed = SymbolFeed(
        publisher.getsockopt_string(zmq.LAST_ENDPOINT), service.endpoint, "AAPL", context=context
    )
    damaged = [
        [b"L2|AAPL|", b"\xff\xff\xff not protobuf"],
        [b"L2|AAPL|junk", _depth(1, Side.BUY, 19_000, 100)],
        [b"L2|AAPL|\xff", _depth(1, Side.BUY, 19_000, 100)],
        [b"L2|AAPL|", _depth(1, 0, 19_000, 100)],  # SIDE_UNSPECIFIED
        [b"L2|AAPL|", pb.SubscribeMarketDataResponse(trade=pb.Trade()).SerializeToString()],
        [b"L2|AAPL|"],
    ]
    good = [b"L2|AAPL|", _depth(1, Side.BUY, 19_000, 100)]
    try:
        # A SUB socket sees nothing until its subscription reaches the PUB
        # ("slow joiner"): send until a good update has come through.
        for _ in range(200):
            for frames in [*damaged, good]:
                publisher.send_multipart(frames)
            feed.poll(20)
            if feed.book.bids:
                break
        assert feed.book.bids == {19_000: (100, 1)}
        assert feed.state[wire.L2].last == 1
        before = feed.malformed
        for frames in damaged:
            publisher.send_multipart(frames)
        publisher.send_multipart([b"L2|AAPL|", _depth(2, Side.BUY, 19_000, 0)])
        applied = feed.poll(2_000)
        while not applied:
            applied = feed.poll(2_000)
        assert feed.malformed - before == len(damaged)
        assert [message.depth_update.channel_sequence for message in applied] == [2]
        assert feed.book.bids == {}
        assert (feed.gaps, feed.checksum_failures) == (0, 0)
    finally:
        feed.close()
        publisher.close()
        service.close()


@pytest.mark.parametrize(
    "answer",
    [
        [b"OK", b"\xff\xff\xff not protobuf"],
        [b"OK"],
        [b"OK", b"", b"more"],
        [
            b"OK",
            pb.SubscribeMarketDataResponse(
                depth_snapshot=pb.DepthSnapshot(trading_phase=99)  # type: ignore[arg-type]
            ).SerializeToString(),
        ],
    ],
    ids=["undecodable", "one-frame", "three-frames", "unknown-phase"],
)
def test_a_snapshot_answer_that_cannot_be_read_is_a_feed_error(
    context: zmq.Context[zmq.Socket[bytes]], answer: list[bytes]
) -> None:
    service = SnapshotService(context, answer)
    feed = SymbolFeed("tcp://127.0.0.1:1", service.endpoint, "AAPL", context=context)
    try:
        with pytest.raises(FeedError):
            feed.poll(0)
    finally:
        feed.close()
        service.close()


@pytest.mark.parametrize(
    "topic", [b"L2|AAPL|junk", b"L2|AAPL", b"L3|AAPL|", b"L2|AA|PL|", b"L2|\xffAPL|", b""]
)
def test_topics_no_publisher_writes_are_refused(topic: bytes) -> None:
    with pytest.raises(ValueError, match=r"topic|codec|unpack"):
        wire.parse_topic(topic)


def test_every_topic_reads_back_as_written() -> None:
    for channel in wire.CHANNELS:
        for symbol in ("AAPL", "BRK.A", ""):
            assert wire.parse_topic(wire.topic(channel, symbol)) == (channel, symbol)
