"""Market data on the wire: topics and the contract's messages.

Every message body is a serialised ``stocktraderx.v1.SubscribeMarketDataResponse``
(the gRPC stream's message), so one decoder reads the ZeroMQ feed, the
snapshot service and the gRPC stream alike. ZeroMQ topics are
``<CHANNEL>|<SYMBOL>|`` (``L1``, ``L2``, ``TRADES``): the closing bar keeps a
subscription to ``L2|BRK|`` from matching ``L2|BRK.A|``. See docs/feeds.md.
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from feeds.market import DepthUpdate, Level, QuoteUpdate, SymbolMarket, TradePrint, Update
from matching import Side

L1, L2, TRADES = "L1", "L2", "TRADES"
CHANNELS = (L1, L2, TRADES)
CHANNEL_NUMBERS = {
    L1: pb.MARKET_DATA_CHANNEL_L1,
    L2: pb.MARKET_DATA_CHANNEL_L2,
    TRADES: pb.MARKET_DATA_CHANNEL_TRADES,
}
CHANNEL_NAMES = {number: name for name, number in CHANNEL_NUMBERS.items()}


def topic(channel: str, symbol: str) -> bytes:
    return f"{channel}|{symbol}|".encode()


def parse_topic(data: bytes) -> tuple[str, str]:
    """``(channel, symbol)`` of a topic ``topic`` wrote; ``ValueError`` for
    anything else (it comes off the network: bytes after the closing bar, a
    missing bar or text that is not UTF-8 are not a publisher's)."""
    channel, symbol, rest = data.decode().split("|")
    if rest or channel not in CHANNEL_NUMBERS:
        raise ValueError(f"not a feed topic: {data[:80]!r}")
    return channel, symbol


def channel_of(update: Update) -> str:
    kind = type(update)
    return L2 if kind is DepthUpdate else L1 if kind is QuoteUpdate else TRADES


def _timestamp(nanos: int) -> Timestamp:
    stamp = Timestamp()
    stamp.seconds, stamp.nanos = divmod(nanos, 1_000_000_000)
    return stamp


def _side(side: Side | None) -> int:
    return 0 if side is None else int(side)


def message(update: Update) -> pb.SubscribeMarketDataResponse:
    """The stream message that carries ``update``."""
    if type(update) is DepthUpdate:
        return pb.SubscribeMarketDataResponse(
            depth_update=pb.DepthUpdate(
                symbol=update.symbol,
                changes=[
                    pb.LevelChange(
                        side=_side(change.side),  # type: ignore[arg-type]
                        price=change.price,
                        quantity=change.quantity,
                        order_count=change.order_count,
                        action=change.action,  # type: ignore[arg-type]
                    )
                    for change in update.changes
                ],
                sequence=update.sequence,
                channel_sequence=update.channel_sequence,
                checksum=update.checksum,
                update_time=_timestamp(update.time),
            )
        )
    if type(update) is QuoteUpdate:
        return pb.SubscribeMarketDataResponse(quote=quote_message(update))
    assert isinstance(update, TradePrint)
    return pb.SubscribeMarketDataResponse(
        trade=pb.Trade(
            trade_id=update.trade_id,
            symbol=update.symbol,
            price=update.price,
            quantity=update.quantity,
            aggressor_side=_side(update.aggressor_side),  # type: ignore[arg-type]
            trade_time=_timestamp(update.time),
            sequence=update.sequence,
            channel_sequence=update.channel_sequence,
        )
    )


def quote_message(quote: QuoteUpdate) -> pb.Quote:
    return pb.Quote(
        symbol=quote.symbol,
        bid_price=quote.bid_price,
        bid_quantity=quote.bid_quantity,
        ask_price=quote.ask_price,
        ask_quantity=quote.ask_quantity,
        last_price=quote.last_price,
        last_quantity=quote.last_quantity,
        volume=quote.volume,
        open_price=quote.open_price,
        high_price=quote.high_price,
        low_price=quote.low_price,
        vwap=quote.vwap,
        reference_price=quote.reference_price,
        trading_phase=int(quote.phase),  # type: ignore[arg-type]
        sequence=quote.sequence,
        channel_sequence=quote.channel_sequence,
        update_time=_timestamp(quote.time),
    )


def _levels(levels: list[Level]) -> list[pb.PriceLevel]:
    return [
        pb.PriceLevel(price=level.price, quantity=level.quantity, order_count=level.order_count)
        for level in levels
    ]


def depth_snapshot(market: SymbolMarket, depth: int | None = None) -> pb.DepthSnapshot:
    """``market``'s book (all levels unless ``depth``), as of its last update."""
    levels = depth if depth is not None else len(market.bids) + len(market.asks)
    return pb.DepthSnapshot(
        symbol=market.symbol,
        bids=_levels(market.top(Side.BUY, levels)),
        asks=_levels(market.top(Side.SELL, levels)),
        sequence=market.sequence,
        channel_sequence=market.l2_sequence,
        checksum=market.checksum(),
        trading_phase=int(market.phase),  # type: ignore[arg-type]
        update_time=_timestamp(market.update_time),
    )


def heartbeat(sequence: int, channel_sequence: int, now: int) -> pb.SubscribeMarketDataResponse:
    return pb.SubscribeMarketDataResponse(
        heartbeat=common_pb2.Heartbeat(
            server_time=_timestamp(now), sequence=sequence, channel_sequence=channel_sequence
        )
    )
