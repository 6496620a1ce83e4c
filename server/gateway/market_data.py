"""The market data service over gRPC: quotes and depth snapshots.

Both read ``ExchangeCore.market``, which advances only with committed
commands, so a snapshot never shows a trade a crash could undo, and its
``channel_sequence`` numbers are the ones the live feeds carry.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Row
from stocktraderx.v1 import market_data_pb2 as pb
from stocktraderx.v1 import market_data_pb2_grpc

from feeds.market import SymbolMarket
from feeds.wire import depth_snapshot, quote_message
from matching import RejectReason
from server.core import ExchangeCore
from server.errors import invalid_argument, rejection
from server.gateway.calls import Context, abort, page_size, page_token
from server.store import Store

DEFAULT_DEPTH = 10
MAX_DEPTH = 1_000


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
    def __init__(self, core: ExchangeCore, store: Store) -> None:
        self._core = core
        self._store = store

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
