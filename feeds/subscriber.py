"""Subscribing to the ZeroMQ feed and keeping a symbol's market whole.

``SymbolFeed`` follows the clone pattern: it subscribes first, asks the
snapshot service for the channel's state, applies only updates numbered
after the snapshot, and checks every one: a channel sequence that skips a
number (a message ZeroMQ dropped at a high-water mark, or the publisher
shed) or a book whose checksum differs from the one the update carries
means the local copy cannot be trusted, and it is rebuilt from a new
snapshot. Heartbeats carry the channel's last sequence, so a loss is seen
even when the channel goes quiet. Trade prints have no snapshot: a gap
there is counted and reported (the missing prints are in ListTrades).

Bytes from the network are checked before they touch the book: a message
that does not decode, or says what no publisher says (a topic other than
``<CHANNEL>|<SYMBOL>|``, an event of another channel, a side that is neither
buy nor sell), is counted in ``malformed`` and dropped; the channel sequence
of the next good message then shows the loss, and the channel is rebuilt
from a snapshot as for any loss. A snapshot answer that does not decode is
a ``FeedError``, like one that never comes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import zmq
from google.protobuf.message import DecodeError
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from feeds import wire
from feeds.curve import connect_securely
from feeds.market import SymbolMarket
from matching import Side, TradingPhase

SNAPSHOT_TIMEOUT_MS = 5_000
RECEIVE_HWM = 100_000


class FeedError(RuntimeError):
    """The snapshot service refused, did not answer, or answered nonsense."""


SnapshotSource = Callable[[str], pb.SubscribeMarketDataResponse]
"""Channel name -> the snapshot of that channel (``FeedError`` if none)."""

_EVENTS = {wire.L1: "quote", wire.L2: "depth_update", wire.TRADES: "trade"}
"""The event each channel carries, besides heartbeats."""
_SIDES = frozenset(int(side) for side in Side)


@dataclass
class _Channel:
    last: int | None = None
    """The channel sequence applied last; None until synchronised."""
    pending: list[tuple[int, pb.SubscribeMarketDataResponse]] = field(default_factory=list)


def _sequence_of(message: pb.SubscribeMarketDataResponse) -> int:
    kind = message.WhichOneof("event")
    if kind == "depth_update":
        return message.depth_update.channel_sequence
    if kind == "quote":
        return message.quote.channel_sequence
    if kind == "trade":
        return message.trade.channel_sequence
    return 0


class SymbolFeed:
    def __init__(
        self,
        endpoint: str,
        snapshot_endpoint: str,
        symbol: str,
        channels: tuple[str, ...] = (wire.L2,),
        *,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        receive_hwm: int = RECEIVE_HWM,
        snapshots: SnapshotSource | None = None,
        server_key: bytes | None = None,
    ) -> None:
        """``snapshots`` replaces the request to ``snapshot_endpoint`` (tests
        and fuzzing answer from memory). ``server_key``: the publisher's
        CurveZMQ public key (Z85) when the feed is encrypted; without the
        right one nothing is received."""
        for channel in channels:
            if channel not in wire.CHANNELS:
                raise ValueError(f"unknown channel {channel!r}")
        self.symbol = symbol
        self.channels = channels
        self._context = context or zmq.Context.instance()
        self._sub = self._context.socket(zmq.SUB)
        self._sub.setsockopt(zmq.RCVHWM, receive_hwm)
        self._sub.setsockopt(zmq.LINGER, 0)
        self._server_key = server_key
        if server_key is not None:
            connect_securely(self._sub, server_key)
        self._sub.connect(endpoint)
        for channel in channels:
            self._sub.setsockopt(zmq.SUBSCRIBE, wire.topic(channel, symbol))
        self._snapshot_endpoint = snapshot_endpoint
        self._dealer = self._new_dealer()
        self._snapshots = snapshots or self._request
        self.book = SymbolMarket(symbol, TradingPhase.CLOSED, 0)
        """The level 2 book as the feed describes it."""
        self.quote: pb.Quote | None = None
        self.state = {channel: _Channel() for channel in channels}
        self.gaps = 0
        self.checksum_failures = 0
        self.snapshots = 0
        self.heartbeats = 0
        self.malformed = 0
        """Messages dropped because they could not be read (see the module's doc)."""

    def _new_dealer(self) -> zmq.Socket[bytes]:
        dealer = self._context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        if self._server_key is not None:
            connect_securely(dealer, self._server_key)
        dealer.connect(self._snapshot_endpoint)
        return dealer

    def close(self) -> None:
        self._sub.close()
        self._dealer.close()

    # -- reading -------------------------------------------------------------

    def poll(
        self, timeout_ms: int, *, conflate: bool = False
    ) -> list[pb.SubscribeMarketDataResponse]:
        """Wait up to ``timeout_ms`` for messages; return the updates applied,
        in order (each channel's state already includes them).

        With ``conflate``, a consumer slower than the feed gets the net effect
        instead: every trade print, then one depth update with the final
        state of each level that changed, then the latest quote."""
        applied = self._poll(timeout_ms)
        return _conflated(applied, self.book) if conflate else applied

    def _poll(self, timeout_ms: int) -> list[pb.SubscribeMarketDataResponse]:
        self.synchronise()
        applied: list[pb.SubscribeMarketDataResponse] = []
        if not self._sub.poll(timeout_ms):
            return applied
        while True:
            try:
                frames = self._sub.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return applied
            if len(frames) != 2:
                self.malformed += 1
                continue
            applied.extend(self.receive(frames[0], frames[1]))

    def synchronise(self) -> None:
        """Load a snapshot for each channel not in step (``poll`` does this
        before it reads): at first, and after a loss it could not repair."""
        for channel, state in self.state.items():
            if state.last is None and channel != wire.TRADES:
                self._synchronise(channel)

    def receive(self, topic: bytes, body: bytes) -> list[pb.SubscribeMarketDataResponse]:
        """Take one message as it came off the SUB socket (``poll`` calls this
        for each); return the updates it applied."""
        applied: list[pb.SubscribeMarketDataResponse] = []
        try:
            channel, symbol = wire.parse_topic(topic)
            message = pb.SubscribeMarketDataResponse.FromString(body)
        except (ValueError, DecodeError):
            self.malformed += 1
            return applied
        if symbol != self.symbol or channel not in self.state:
            return applied  # a longer symbol sharing the prefix
        if not _readable(channel, message):
            self.malformed += 1
            return applied
        self._handle(channel, message, applied)
        return applied

    def _handle(
        self,
        channel: str,
        message: pb.SubscribeMarketDataResponse,
        applied: list[pb.SubscribeMarketDataResponse],
    ) -> None:
        state = self.state[channel]
        if message.WhichOneof("event") == "heartbeat":
            self.heartbeats += 1
            behind = state.last is not None and message.heartbeat.channel_sequence > state.last
            if behind:
                self._lost(channel)
            return
        sequence = _sequence_of(message)
        if state.last is None:
            if channel == wire.TRADES:
                state.last = sequence - 1
            else:
                state.pending.append((sequence, message))
                return
        if sequence <= state.last:
            return  # already in the snapshot
        if sequence != state.last + 1:
            self._lost(channel)
            if channel == wire.TRADES:
                state.last = sequence - 1
            elif sequence <= state.last:
                return
            elif sequence != state.last + 1:
                # Newer than the fresh snapshot: resynchronise at the next poll.
                state.last = None
                state.pending = [(sequence, message)]
                return
        self._apply(channel, message)
        state.last = sequence
        applied.append(message)
        if channel == wire.L2 and self.book.checksum() != message.depth_update.checksum:
            self.checksum_failures += 1
            self._lost(channel)

    def _lost(self, channel: str) -> None:
        """A gap (or a bad checksum): rebuild the channel from a snapshot."""
        self.gaps += 1
        if channel != wire.TRADES:
            self._synchronise(channel)

    def _apply(self, channel: str, message: pb.SubscribeMarketDataResponse) -> None:
        if channel == wire.L2:
            for change in message.depth_update.changes:
                self.book.set_level(
                    Side(change.side), change.price, change.quantity, change.order_count
                )
        elif channel == wire.L1:
            self.quote = message.quote

    # -- snapshots -----------------------------------------------------------

    def _synchronise(self, channel: str) -> None:
        state = self.state[channel]
        snapshot = self._snapshots(channel)
        self.snapshots += 1
        if channel == wire.L2:
            depth = snapshot.depth_snapshot
            if depth.trading_phase not in _PHASES:
                raise FeedError(f"snapshot of {self.symbol} has no trading phase")
            book = SymbolMarket(self.symbol, TradingPhase(depth.trading_phase), 0)
            for side, levels in ((Side.BUY, depth.bids), (Side.SELL, depth.asks)):
                for level in levels:
                    book.set_level(side, level.price, level.quantity, level.order_count)
            if book.checksum() != depth.checksum:
                raise FeedError(f"snapshot of {self.symbol} fails its own checksum")
            self.book = book
            state.last = depth.channel_sequence
        else:
            self.quote = snapshot.quote
            state.last = snapshot.quote.channel_sequence
        pending, state.pending = state.pending, []
        applied: list[pb.SubscribeMarketDataResponse] = []
        for _, message in sorted(pending, key=lambda item: item[0]):
            self._handle(channel, message, applied)

    def _request(self, channel: str) -> pb.SubscribeMarketDataResponse:
        self._dealer.send_multipart([b"SNAPSHOT", channel.encode(), self.symbol.encode()])
        if not self._dealer.poll(SNAPSHOT_TIMEOUT_MS):
            # A fresh socket: a late answer to this request must not be read as the next one's.
            self._dealer.close()
            self._dealer = self._new_dealer()
            raise FeedError(f"no snapshot from {self._snapshot_endpoint} within 5 s")
        frames = self._dealer.recv_multipart()
        if len(frames) != 2:
            raise FeedError(f"a snapshot answer of {len(frames)} frames, not 2")
        status, body = frames
        if status != b"OK":
            raise FeedError(body.decode(errors="replace"))
        try:
            return pb.SubscribeMarketDataResponse.FromString(body)
        except DecodeError as error:
            raise FeedError(f"a snapshot answer that does not decode: {error}") from None


_PHASES = frozenset(int(phase) for phase in TradingPhase)


def _readable(channel: str, message: pb.SubscribeMarketDataResponse) -> bool:
    """Whether ``message`` is one a publisher sends on ``channel``: the
    channel's own event or a heartbeat, and in a depth update only real sides
    (the book has no place for any other)."""
    kind = message.WhichOneof("event")
    if kind == "heartbeat":
        return True
    if kind != _EVENTS[channel]:
        return False
    return kind != "depth_update" or all(
        change.side in _SIDES for change in message.depth_update.changes
    )


def _conflated(
    applied: list[pb.SubscribeMarketDataResponse], book: SymbolMarket
) -> list[pb.SubscribeMarketDataResponse]:
    trades = [message for message in applied if message.WhichOneof("event") == "trade"]
    depth = [message.depth_update for message in applied if message.HasField("depth_update")]
    quotes = [message for message in applied if message.WhichOneof("event") == "quote"]
    result = list(trades)
    if depth:
        touched = dict.fromkeys(
            (change.side, change.price) for update in depth for change in update.changes
        )
        changes = []
        for side, price in touched:
            levels = book.bids if side == common_pb2.SIDE_BUY else book.asks
            quantity, count = levels.get(price, (0, 0))
            action = pb.LEVEL_ACTION_UPDATE if quantity else pb.LEVEL_ACTION_DELETE
            changes.append(
                pb.LevelChange(
                    side=side, price=price, quantity=quantity, order_count=count, action=action
                )
            )
        last = depth[-1]
        result.append(
            pb.SubscribeMarketDataResponse(
                depth_update=pb.DepthUpdate(
                    symbol=last.symbol,
                    changes=changes,
                    sequence=last.sequence,
                    channel_sequence=last.channel_sequence,
                    checksum=last.checksum,
                    update_time=last.update_time,
                )
            )
        )
    if quotes:
        result.append(quotes[-1])
    return result
