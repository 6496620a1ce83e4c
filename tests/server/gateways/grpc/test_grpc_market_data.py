"""Quotes and depth snapshots over a real gRPC socket."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from stocktraderx.v1 import (
    common_pb2,
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
)

from feeds.market import Update
from server.app import Exchange
from server.gateways.grpc.market_data import MarketFanout
from tests.server.local import local_settings, prepare_accounts

Scenario = Callable[[grpc.aio.Channel], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        settings = local_settings(tmp_path, auth_required=False)
        exchange = Exchange(settings)
        await exchange.start()
        try:
            # ``_place`` trades for the account named by the client order id's
            # first letter: "A" sells, "B" buys.
            await prepare_accounts(exchange, "A", "B")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await scenario(channel)
        finally:
            await exchange.stop()

    asyncio.run(main())


async def _place(
    channel: grpc.aio.Channel, client_id: str, side: int, qty: int, price: int
) -> None:
    await orders_pb2_grpc.OrderServiceStub(channel).PlaceOrder(
        orders_pb2.PlaceOrderRequest(
            account_id=client_id[0].upper(),
            client_order_id=client_id,
            symbol="AAPL",
            side=side,  # type: ignore[arg-type]
            order_type=common_pb2.ORDER_TYPE_LIMIT,
            time_in_force=common_pb2.TIME_IN_FORCE_GTC,
            quantity=qty,
            price=price,
        )
    )


BUY, SELL = common_pb2.SIDE_BUY, common_pb2.SIDE_SELL


def test_depth_and_quote_follow_the_book(tmp_path: Path) -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        empty = (await market.GetDepth(market_data_pb2.GetDepthRequest(symbol="AAPL"))).depth
        assert (list(empty.bids), list(empty.asks), empty.checksum) == ([], [], 0)
        await _place(channel, "a1", SELL, 300, 1_901_000)
        await _place(channel, "a2", SELL, 200, 1_901_000)
        await _place(channel, "a3", SELL, 100, 1_902_000)
        await _place(channel, "b1", BUY, 400, 1_899_000)
        await _place(channel, "b2", BUY, 100, 1_901_000)  # trades 100 @ 190.10
        depth = (await market.GetDepth(market_data_pb2.GetDepthRequest(symbol="AAPL"))).depth
        assert [(lv.price, lv.quantity, lv.order_count) for lv in depth.asks] == [
            (1_901_000, 400, 2),
            (1_902_000, 100, 1),
        ]
        assert [(lv.price, lv.quantity, lv.order_count) for lv in depth.bids] == [
            (1_899_000, 400, 1)
        ]
        assert depth.checksum == zlib.crc32(b"B1899000:400,S1901000:400,S1902000:100")
        assert depth.channel_sequence == 5  # five commands changed the book
        assert depth.trading_phase == common_pb2.TRADING_PHASE_CONTINUOUS
        one = await market.GetDepth(market_data_pb2.GetDepthRequest(symbol="AAPL", depth=1))
        assert len(one.depth.asks) == 1
        assert one.depth.checksum == depth.checksum  # always over the top 10
        quote = (await market.GetQuote(market_data_pb2.GetQuoteRequest(symbol="AAPL"))).quote
        assert (quote.bid_price, quote.bid_quantity) == (1_899_000, 400)
        assert (quote.ask_price, quote.ask_quantity) == (1_901_000, 400)
        assert (quote.last_price, quote.last_quantity, quote.volume) == (1_901_000, 100, 100)
        assert quote.vwap == quote.open_price == quote.high_price == 1_901_000
        assert quote.sequence == depth.sequence

    _run(tmp_path, scenario)


def test_unknown_symbols_and_bad_depths_are_refused(tmp_path: Path) -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await market.GetQuote(market_data_pb2.GetQuoteRequest(symbol="NOPE"))
        assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await market.GetDepth(market_data_pb2.GetDepthRequest())
        assert missing.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as too_deep:
            await market.GetDepth(market_data_pb2.GetDepthRequest(symbol="AAPL", depth=5000))
        assert too_deep.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(too_deep.value)  # type: ignore[arg-type]
        assert status is not None
        request = error_details_pb2.BadRequest()
        assert any(detail.Unpack(request) for detail in status.details)
        assert request.field_violations[0].field == "depth"

    _run(tmp_path, scenario)


async def _read(stream: object) -> market_data_pb2.SubscribeMarketDataResponse:
    message = await stream.read()  # type: ignore[attr-defined]
    assert isinstance(message, market_data_pb2.SubscribeMarketDataResponse)
    return message


def test_a_subscription_starts_with_snapshots_and_follows_without_gaps(tmp_path: Path) -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        await _place(channel, "a1", SELL, 300, 1_901_000)
        stream = market.SubscribeMarketData(
            market_data_pb2.SubscribeMarketDataRequest(symbols=["AAPL"])
        )
        first = await _read(stream)
        second = await _read(stream)
        assert first.WhichOneof("event") == "quote"
        assert second.WhichOneof("event") == "depth_snapshot"
        book = {(lv.price, SELL): lv.quantity for lv in second.depth_snapshot.asks}
        l2 = second.depth_snapshot.channel_sequence
        await _place(channel, "b1", BUY, 100, 1_901_000)  # a trade
        await _place(channel, "b2", BUY, 50, 1_899_000)  # a new bid level
        kinds: list[str | None] = []
        while len([kind for kind in kinds if kind == "depth_update"]) < 2:
            message = await asyncio.wait_for(_read(stream), 5)
            kind = message.WhichOneof("event")
            kinds.append(kind)
            if kind == "depth_update":
                update = message.depth_update
                assert update.channel_sequence == l2 + 1  # no gap after the snapshot
                l2 = update.channel_sequence
                for change in update.changes:
                    book[(change.price, change.side)] = change.quantity
            elif kind == "trade":
                assert (message.trade.price, message.trade.quantity) == (1_901_000, 100)
        assert "trade" in kinds
        assert "quote" in kinds
        depth = (await market.GetDepth(market_data_pb2.GetDepthRequest(symbol="AAPL"))).depth
        assert {price: qty for (price, _), qty in book.items() if qty} == {
            level.price: level.quantity for level in [*depth.bids, *depth.asks]
        }
        stream.cancel()

    _run(tmp_path, scenario)


def test_bars_come_from_the_store(tmp_path: Path) -> None:
    async def scenario(channel: grpc.aio.Channel) -> None:
        market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        await _place(channel, "a1", SELL, 300, 1_901_000)
        await _place(channel, "b1", BUY, 100, 1_901_000)
        await _place(channel, "b2", BUY, 200, 1_901_000)
        request = market_data_pb2.GetBarsRequest(
            symbol="AAPL", interval=market_data_pb2.BAR_INTERVAL_1D
        )
        for _ in range(200):  # written behind trading, within milliseconds
            bars = (await market.GetBars(request)).bars
            if bars and bars[-1].trade_count == 2:
                break
            await asyncio.sleep(0.01)
        (bar,) = bars
        assert (bar.open_price, bar.close_price, bar.volume, bar.vwap) == (
            1_901_000, 1_901_000, 300, 1_901_000,
        )  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await market.GetBars(market_data_pb2.GetBarsRequest(symbol="AAPL"))
        assert missing.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    _run(tmp_path, scenario)


def test_the_fanout_listens_to_the_market_only_while_a_stream_is_subscribed() -> None:
    # With no listener the replica's market state builds no updates (half its
    # work per command): a gateway nobody watches market data through must
    # not be one, and one stream must make it one again.
    listeners: list[Callable[[list[Update]], None]] = []
    fanout = MarketFanout(listeners)
    assert listeners == []
    first = fanout.subscribe({("L1", "AAPL")})
    second = fanout.subscribe({("L2", "AAPL")})
    assert listeners == [fanout.publish]
    fanout.forget(first)
    assert listeners == [fanout.publish]
    fanout.forget(second)
    assert listeners == []
    fanout.forget(second)  # a stream ended twice (cancelled, then closed)
    assert listeners == []
    fanout.subscribe({("TRADES", "AAPL")})
    assert listeners == [fanout.publish]
