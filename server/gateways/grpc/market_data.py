"""The market data service over gRPC: quotes and depth snapshots.

Both read ``ExchangeCore.market``, which advances only with committed
commands, so a snapshot never shows a trade a crash could undo, and its
``channel_sequence`` numbers are the ones the live feeds carry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Row
from stocktraderx.v1 import market_data_pb2 as pb
from stocktraderx.v1 import market_data_pb2_grpc

from feeds import wire
from feeds.market import SymbolMarket, Update
from feeds.wire import depth_snapshot, quote_message
from matching import RejectReason
from server.errors import abort, invalid_argument, rejection, slow_consumer
from server.gateways.grpc.calls import Context, page_size, page_token
from server.metrics.order_entry import SUBSCRIBER_DROPS
from server.model.view import CoreView
from server.store import Store
from server.store.batch import BAR_SECONDS

DEFAULT_DEPTH = 10
MAX_DEPTH = 1_000
DEFAULT_BARS = 500
MAX_BARS = 5_000
HEARTBEAT_SECONDS = 5.0
STREAM_BACKLOG = 10_000
"""Committed batches a subscription may have unread before it is ended."""


def _timestamp(nanos: int) -> Timestamp:
    stamp = Timestamp()
    stamp.seconds, stamp.nanos = divmod(nanos, 1_000_000_000)
    return stamp


def trade_message(row: Row[Any]) -> pb.Trade:
    return pb.Trade(
        trade_id=row.trade_id,
        symbol=row.symbol,
        price=row.price,
        quantity=row.quantity,
        aggressor_side=row.aggressor_side,
        trade_time=_timestamp(row.trade_time),
        sequence=row.sequence,
        channel_sequence=row.channel_sequence,
    )


class MarketDataService(market_data_pb2_grpc.MarketDataServiceServicer):
    def __init__(self, core: CoreView, store: Store) -> None:
        self._core = core
        self._store = store
        self._fanout = MarketFanout(core.market_listeners)

    async def _market(self, symbol: str, context: Context) -> SymbolMarket:
        if not symbol:
            await abort(context, invalid_argument("symbol", "symbol is required"))
        market = self._core.market.markets.get(symbol)
        if market is None:
            await abort(
                context, rejection(RejectReason.UNKNOWN_SYMBOL, f"no instrument {symbol!r}")
            )
        return market

    async def GetQuote(  # noqa: N802 - the contract's name
        self, request: pb.GetQuoteRequest, context: Context
    ) -> pb.GetQuoteResponse:
        market = await self._market(request.symbol, context)
        return pb.GetQuoteResponse(quote=quote_message(market.quote()))

    async def GetDepth(  # noqa: N802
        self, request: pb.GetDepthRequest, context: Context
    ) -> pb.GetDepthResponse:
        if not 0 <= request.depth <= MAX_DEPTH:
            await abort(
                context, invalid_argument("depth", f"depth must be between 0 and {MAX_DEPTH}")
            )
        market = await self._market(request.symbol, context)
        return pb.GetDepthResponse(depth=depth_snapshot(market, request.depth or DEFAULT_DEPTH))

    async def ListTrades(  # noqa: N802
        self, request: pb.ListTradesRequest, context: Context
    ) -> pb.ListTradesResponse:
        """From the store: every print it holds, newest first (the last few
        milliseconds of prints may still be on their way to it)."""
        await self._market(request.symbol, context)
        size = await page_size(request.page_size, context)
        before = await page_token(request.page_token, context)
        rows = await self._store.trades_page(symbol=request.symbol, before=before, limit=size + 1)
        page = rows[:size]
        token = str(page[-1].trade_id) if len(rows) > size else ""
        return pb.ListTradesResponse(
            trades=[trade_message(row) for row in page], next_page_token=token
        )

    async def GetBars(  # noqa: N802
        self, request: pb.GetBarsRequest, context: Context
    ) -> pb.GetBarsResponse:
        """From the store, where the projector builds bars from every trade."""
        await self._market(request.symbol, context)
        if request.interval not in BAR_SECONDS:
            await abort(context, invalid_argument("interval", "interval is required"))
        if request.page_size < 0 or request.page_size > MAX_BARS:
            await abort(
                context, invalid_argument("page_size", f"page_size must be 0 to {MAX_BARS}")
            )
        size = request.page_size or DEFAULT_BARS
        after = await page_token(request.page_token, context)
        start = request.start_time.ToNanoseconds() if request.HasField("start_time") else 0
        end = request.end_time.ToNanoseconds() if request.HasField("end_time") else None
        if end is not None and end <= start:
            await abort(context, invalid_argument("end_time", "end_time must follow start_time"))
        rows = await self._store.bars_page(
            symbol=request.symbol,
            interval=request.interval,
            start=start,
            end=end,
            after=after,
            limit=size + 1,
        )
        page = rows[:size]
        return pb.GetBarsResponse(
            symbol=request.symbol,
            interval=request.interval,
            bars=[bar_message(row) for row in page],
            next_page_token=str(page[-1].start_time) if len(rows) > size else "",
        )

    async def SubscribeMarketData(  # noqa: N802
        self, request: pb.SubscribeMarketDataRequest, context: Context
    ) -> AsyncIterator[pb.SubscribeMarketDataResponse]:
        markets = self._core.market.markets
        symbols = list(dict.fromkeys(request.symbols)) or sorted(markets)
        for symbol in symbols:
            await self._market(symbol, context)
        channels = []
        for number in dict.fromkeys(request.channels) or wire.CHANNEL_NAMES:
            name = wire.CHANNEL_NAMES.get(number)
            if name is None:
                await abort(context, invalid_argument("channels", f"channel {number} is unknown"))
            channels.append(name)
        # Registered and snapshotted in one step of the event loop: the first
        # update this stream gets follows its snapshot with no gap.
        subscription = self._fanout.subscribe({(c, s) for c in channels for s in symbols})
        try:
            for symbol in symbols:
                market = markets[symbol]
                if wire.L1 in channels:
                    yield pb.SubscribeMarketDataResponse(quote=wire.quote_message(market.quote()))
                if wire.L2 in channels:
                    yield pb.SubscribeMarketDataResponse(depth_snapshot=wire.depth_snapshot(market))
            while True:
                try:
                    updates = await asyncio.wait_for(subscription.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield wire.heartbeat(self._core.sequencer.durable_sequence, 0, time.time_ns())
                    continue
                if updates is None:
                    SUBSCRIBER_DROPS.inc()
                    await abort(
                        context, slow_consumer("market data unread for too long; subscribe again")
                    )
                for update in updates:
                    yield wire.message(update)
        finally:
            self._fanout.forget(subscription)


def bar_message(row: Row[Any]) -> pb.Bar:
    return pb.Bar(
        start_time=_timestamp(row.start_time),
        open_price=row.open_price,
        high_price=row.high_price,
        low_price=row.low_price,
        close_price=row.close_price,
        volume=row.volume,
        vwap=_half_even(int(row.notional), row.volume),
        trade_count=row.trade_count,
    )


def _half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


class _Subscription:
    def __init__(self, wanted: set[tuple[str, str]]) -> None:
        self.wanted = wanted
        self.queue: asyncio.Queue[list[Update] | None] = asyncio.Queue()
        self.backlog = 0
        self.overflowed = False


class MarketFanout:
    """Hands each committed batch's updates to the gRPC streams that want them.

    It is one of the market state's listeners only while a stream is
    subscribed: with none, the replica's market state advances without
    building updates (its channel sequences all the same), half of its work
    per command (docs/performance.md), which a gateway that only takes
    orders never needs."""

    def __init__(
        self, listeners: list[Callable[[list[Update]], None]], limit: int = STREAM_BACKLOG
    ) -> None:
        self._listeners = listeners
        self._limit = limit
        self._subscriptions: set[_Subscription] = set()

    @property
    def listening(self) -> bool:
        return self.publish in self._listeners

    def subscribe(self, wanted: set[tuple[str, str]]) -> _Subscription:
        subscription = _Subscription(wanted)
        if not self._subscriptions:
            self._listeners.append(self.publish)
        self._subscriptions.add(subscription)
        return subscription

    def forget(self, subscription: _Subscription) -> None:
        self._subscriptions.discard(subscription)
        if not self._subscriptions and self.listening:
            self._listeners.remove(self.publish)

    def publish(self, updates: list[Update]) -> None:
        for subscription in self._subscriptions:
            if subscription.overflowed:
                continue
            wanted = subscription.wanted
            mine = [u for u in updates if (wire.channel_of(u), u.symbol) in wanted]
            if not mine:
                continue
            if subscription.queue.qsize() >= self._limit:
                # A reader this far behind gets an error, not unbounded memory.
                subscription.overflowed = True
                subscription.queue.put_nowait(None)
                continue
            subscription.queue.put_nowait(mine)
