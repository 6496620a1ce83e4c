"""Market protection in a running exchange: a volatility-band pause reopens on
time with no order arriving (the server's clock), through an auction."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import grpc
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc

from matching import AuctionCompleted, TradingPaused, TradingPhase
from server.app import Exchange
from server.model.sequenced import Sequenced
from tests.server.local import local_settings, prepare_accounts

PAUSE_NS = 300_000_000


def _limit(account: str, side: int, quantity: int, price: int) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id=f"{account}-{side}-{price}", symbol="AAPL",
        side=side,  # type: ignore[arg-type]
        order_type=common_pb2.ORDER_TYPE_LIMIT, time_in_force=common_pb2.TIME_IN_FORCE_DAY,
        quantity=quantity, price=price,
    )  # fmt: skip


def _phase(exchange: Exchange) -> TradingPhase:
    assert exchange.core is not None
    return exchange.core.engine.books["AAPL"].phase


def test_a_band_pause_reopens_with_an_auction_on_time(tmp_path: Path) -> None:
    async def main() -> None:
        settings = local_settings(tmp_path, auth_required=False)
        settings = replace(settings, risk=replace(settings.risk, pause_ns=PAUSE_NS))
        exchange = Exchange(settings)
        await exchange.start()
        seen: list[Sequenced] = []
        assert exchange.core is not None
        core = exchange.core
        core.sequencer.add_listener(seen.extend)
        try:
            await prepare_accounts(exchange, "SELLER", "BUYER")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                orders = orders_pb2_grpc.OrderServiceStub(channel)
                sell = common_pb2.SIDE_SELL
                await orders.PlaceOrder(_limit("SELLER", sell, 10, 1_900_000), timeout=30)
                await orders.PlaceOrder(_limit("SELLER", sell, 10, 2_000_000), timeout=30)
                # AAPL's band is 5% around 190.00: 200.00 is beyond it.
                await orders.PlaceOrder(
                    _limit("BUYER", common_pb2.SIDE_BUY, 20, 2_000_000), timeout=30
                )
                book = core.engine.books["AAPL"]
                assert _phase(exchange) is TradingPhase.PRE_OPEN
                paused_at = time.monotonic()
                deadline = paused_at + 5
                while _phase(exchange) is not TradingPhase.CONTINUOUS:
                    assert time.monotonic() < deadline, "the pause never ended"
                    await asyncio.sleep(0.02)
                assert time.monotonic() - paused_at >= PAUSE_NS / 1e9 * 0.9
        finally:
            await exchange.stop()
        events = [event for item in seen for event in item.events]
        pauses = [event for event in events if isinstance(event, TradingPaused)]
        assert [(pause.cause, pause.price) for pause in pauses] == [("price_band", 2_000_000)]
        auctions = [event for event in events if isinstance(event, AuctionCompleted)]
        assert [(auction.price, auction.quantity) for auction in auctions] == [(2_000_000, 10)]
        assert book.band_reference == 2_000_000
        assert core.engine.risk.accounts["BUYER"].holdings["AAPL"].quantity == 20

    asyncio.run(main())
