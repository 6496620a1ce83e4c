"""The market data feed's decoder (``feeds.wire``, ``feeds.subscriber``): a
subscriber reading bytes off the network keeps a sound book and never fails
on them.

The input is a list of frames, each ``kind: u8 | topic size: u8 | body size:
u16 | topic | body`` (little-endian; the last takes what is left). An even
kind is a message on the SUB socket, handed to ``SymbolFeed.receive`` after
``synchronise`` (what ``poll`` does with each); an odd kind queues a snapshot answer, served to the
subscriber's next snapshot request by an in-memory snapshot service.

Checked: ``receive`` raises nothing but ``FeedError`` (a snapshot it cannot
use); a message it cannot read only adds to ``malformed``; every update it
applies is its channel's own event with a channel sequence above the last one
applied on that channel; the book's sorted price lists match its levels and
hold no empty level; a topic ``parse_topic`` accepts is written back by
``topic`` byte for byte, and a body that decodes re-encodes to an equal message.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import zmq
from google.protobuf.message import DecodeError
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from feeds import wire
from feeds.market import (
    DepthUpdate,
    LevelChange,
    QuoteUpdate,
    SymbolMarket,
    TradePrint,
    Update,
)
from feeds.subscriber import FeedError, SymbolFeed
from matching import Side, TradingPhase

_FRAME = struct.Struct("<BBH")
_SYMBOL = "AAPL"
_FEED, _SNAPSHOTS = "inproc://stx-fuzz-feed", "inproc://stx-fuzz-snapshots"
_CONTEXT: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
# Bound for the process's life though nothing is sent on them: libzmq keeps a
# socket that connected to an unbound inproc endpoint until the endpoint is
# bound, and one whose peer has not taken note of its closing (which the
# peer does when it is used: see ``_settle``), so each input's subscriber
# would leak its descriptors.
_BOUND = [_CONTEXT.socket(zmq.PUB), _CONTEXT.socket(zmq.ROUTER)]
_BOUND[0].bind(_FEED)
_BOUND[1].bind(_SNAPSHOTS)
_EVENTS = {wire.L1: "quote", wire.L2: "depth_update", wire.TRADES: "trade"}


def frames(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    offset = 0
    while len(data) - offset >= _FRAME.size:
        kind, topic_size, body_size = _FRAME.unpack_from(data, offset)
        offset += _FRAME.size
        topic = data[offset : offset + topic_size]
        offset += topic_size
        body = data[offset : offset + body_size]
        offset += body_size
        yield kind, topic, body


def frame(kind: int, topic: bytes, body: bytes) -> bytes:
    return _FRAME.pack(kind, len(topic), len(body)) + topic + body


class Snapshots:
    """The snapshot service, answering from a queue the input fills."""

    def __init__(self) -> None:
        self.answers: list[bytes] = []

    def __call__(self, channel: str) -> pb.SubscribeMarketDataResponse:
        if not self.answers:
            raise FeedError("no snapshot")
        try:
            return pb.SubscribeMarketDataResponse.FromString(self.answers.pop(0))
        except DecodeError as error:
            raise FeedError(str(error)) from None


def _check_wire(topic: bytes, body: bytes) -> None:
    try:
        parsed = wire.parse_topic(topic)
    except ValueError:
        pass
    else:
        assert wire.topic(*parsed) == topic, (topic, parsed)
    try:
        message = pb.SubscribeMarketDataResponse.FromString(body)
    except DecodeError:
        return
    assert pb.SubscribeMarketDataResponse.FromString(message.SerializeToString()) == message


def _check_book(book: SymbolMarket) -> None:
    assert book.bid_prices == sorted(book.bids), book.bid_prices
    assert book.ask_keys == sorted(-price for price in book.asks), book.ask_keys
    assert all(quantity for quantity, _ in [*book.bids.values(), *book.asks.values()])


def test_one_input(data: bytes) -> None:
    snapshots = Snapshots()
    feed = SymbolFeed(
        _FEED,
        _SNAPSHOTS,
        _SYMBOL,
        wire.CHANNELS,
        context=_CONTEXT,
        snapshots=snapshots,
    )
    try:
        for kind, topic, body in frames(data):
            if kind % 2:
                snapshots.answers.append(body)
                continue
            _check_wire(topic, body)
            malformed = feed.malformed
            try:
                feed.synchronise()  # as poll does before it reads
                applied = feed.receive(topic, body)
            except FeedError:
                continue
            assert feed.malformed - malformed in (0, 1)
            assert not (applied and feed.malformed > malformed)
            last: dict[str, int] = {}
            for message in applied:
                event = message.WhichOneof("event")
                assert event is not None
                channel = next(name for name, kind in _EVENTS.items() if kind == event)
                sequence = getattr(message, event).channel_sequence
                assert sequence > last.get(channel, -1), (channel, sequence, last)
                last[channel] = sequence
            _check_book(feed.book)
    finally:
        feed.close()
        _settle()


def _settle() -> None:
    for socket in _BOUND:
        socket.getsockopt(zmq.EVENTS)  # processes the closed peers' commands


def seeds() -> Iterator[bytes]:
    """A subscriber's morning: snapshots, then updates as the publisher encodes
    them, a heartbeat, and the same with a lost message and a bad checksum."""
    book = SymbolMarket(_SYMBOL, TradingPhase.CONTINUOUS, 19_000)
    book.set_level(Side.BUY, 18_990, 300, 2)
    book.set_level(Side.SELL, 19_010, 100, 1)
    book.l1_sequence = book.l2_sequence = 4
    depth = pb.SubscribeMarketDataResponse(depth_snapshot=wire.depth_snapshot(book))
    quote = pb.SubscribeMarketDataResponse(quote=wire.quote_message(book.quote()))
    # Snapshots are asked for in the feed's channel order: L1, then L2.
    answers = frame(1, b"", quote.SerializeToString()) + frame(1, b"", depth.SerializeToString())
    book.set_level(Side.BUY, 19_000, 50, 1)
    added = DepthUpdate(
        _SYMBOL, 5, 40, 1_000, (LevelChange(Side.BUY, 19_000, 50, 1, 1),), book.checksum()
    )
    book.set_level(Side.SELL, 19_010, 0, 0)
    book.trade(19_010, 100)
    taken = DepthUpdate(
        _SYMBOL, 6, 41, 2_000, (LevelChange(Side.SELL, 19_010, 0, 0, 3),), book.checksum()
    )
    book.l1_sequence = 5
    last_quote: QuoteUpdate = book.quote()
    trade = TradePrint(_SYMBOL, 1, 41, 2_000, 9, 19_010, 100, Side.BUY)
    updates: list[tuple[str, Update]] = [
        (wire.L2, added),
        (wire.L2, taken),
        (wire.L1, last_quote),
        (wire.TRADES, trade),
    ]
    messages = [
        frame(0, wire.topic(channel, _SYMBOL), wire.message(update).SerializeToString())
        for channel, update in updates
    ]
    heartbeat = frame(
        0, wire.topic(wire.L2, _SYMBOL), wire.heartbeat(41, 6, 3_000).SerializeToString()
    )
    yield answers + b"".join(messages) + heartbeat
    yield answers + messages[1] + answers + b"".join(messages)  # a gap, then resynchronised
    wrong = added._replace(checksum=added.checksum ^ 1)
    yield answers + frame(0, wire.topic(wire.L2, _SYMBOL), wire.message(wrong).SerializeToString())
    yield answers + heartbeat + answers  # a heartbeat ahead of the snapshot
    yield answers + frame(0, b"L2|AAPL.X|", wire.message(added).SerializeToString())
    print_ = pb.Trade(symbol=_SYMBOL, channel_sequence=3, aggressor_side=common_pb2.SIDE_SELL)
    lone = pb.SubscribeMarketDataResponse(trade=print_)
    yield frame(0, b"TRADES|AAPL|", lone.SerializeToString())  # trades need no snapshot
