"""History over gRPC: what the registry has forgotten comes from the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from stocktraderx.v1 import (
    common_pb2,
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
)

from server.app import Exchange
from tests.server.local import local_settings, prepare_accounts

Scenario = Callable[[Exchange, grpc.aio.Channel], Awaitable[None]]


def _run(tmp_path: Path, store_url: str, scenario: Scenario) -> None:
    async def main() -> None:
        settings = local_settings(tmp_path / "data", database_url=store_url, auth_required=False)
        exchange = Exchange(settings)
        await exchange.start()
        assert exchange.core is not None
        # A registry that forgets fast, so that history must come from the store.
        exchange.core.registry.finished_kept = 2
        exchange.core.registry.window = 3
        try:
            await prepare_accounts(exchange, "A", "B")  # "A" buys, "B" sells
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await scenario(exchange, channel)
        finally:
            await exchange.stop()

    asyncio.run(main())


def _order(client_id: str, side: int, quantity: int, price: int) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id="A" if side == common_pb2.SIDE_BUY else "B",
        client_order_id=client_id,
        symbol="AAPL",
        side=side,  # type: ignore[arg-type]
        order_type=common_pb2.ORDER_TYPE_LIMIT,
        time_in_force=common_pb2.TIME_IN_FORCE_GTC,
        quantity=quantity,
        price=price,
    )


async def _caught_up(exchange: Exchange) -> None:
    assert exchange.projector is not None
    assert exchange.core is not None
    await exchange.projector.caught_up(exchange.core.sequencer.sequence)


def test_orders_executions_and_trades_beyond_the_registry(store_url: str, tmp_path: Path) -> None:
    async def scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        ids = []
        for index in range(5):
            placed = await orders.PlaceOrder(
                _order(f"a{index}", common_pb2.SIDE_BUY, 100, 1_890_000 + index * 100)
            )
            ids.append(placed.order.order_id)
        for order_id in ids[:4]:
            await orders.CancelOrder(orders_pb2.CancelOrderRequest(order_id=order_id))
        await orders.PlaceOrder(_order("b0", common_pb2.SIDE_SELL, 40, 1_890_400))  # a trade
        await _caught_up(exchange)
        assert exchange.core is not None
        assert ids[0] not in exchange.core.registry.orders  # forgotten by the registry

        first = await orders.GetOrder(orders_pb2.GetOrderRequest(order_id=ids[0], account_id="A"))
        assert first.order.status == orders_pb2.ORDER_STATUS_CANCELED
        assert first.order.client_order_id == "a0"

        seen: list[orders_pb2.Order] = []
        token = ""
        while True:
            page = await orders.ListOrders(
                orders_pb2.ListOrdersRequest(account_id="A", page_size=2, page_token=token)
            )
            seen.extend(page.orders)
            token = page.next_page_token
            if not token:
                break
        assert [order.order_id for order in seen] == ids[::-1]  # newest first, as the contract says
        filled = [order for order in seen if order.order_id == ids[4]]
        assert filled[0].cum_quantity == 40

        reports: list[int] = []
        token = ""
        while True:
            executions = await orders.ListExecutions(
                orders_pb2.ListExecutionsRequest(account_id="A", page_size=4, page_token=token)
            )
            reports.extend(report.report_sequence for report in executions.reports)
            token = executions.next_page_token
            if not token:
                break
        assert reports == list(range(1, 11))  # 5 new, 4 canceled, 1 partial fill

        market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        trades = await market.ListTrades(market_data_pb2.ListTradesRequest(symbol="AAPL"))
        assert [(trade.price, trade.quantity) for trade in trades.trades] == [(1_890_400, 40)]
        assert trades.trades[0].aggressor_side == common_pb2.SIDE_SELL
        assert trades.trades[0].channel_sequence == 1

    _run(tmp_path, store_url, scenario)


def test_history_survives_a_restart(store_url: str, tmp_path: Path) -> None:
    placed: list[int] = []

    async def first(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        for index in range(4):
            answer = await orders.PlaceOrder(
                _order(f"r{index}", common_pb2.SIDE_BUY, 10, 1_880_000)
            )
            placed.append(answer.order.order_id)
            await orders.CancelOrder(orders_pb2.CancelOrderRequest(order_id=placed[-1]))

    async def second(exchange: Exchange, channel: grpc.aio.Channel) -> None:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        listed = await orders.ListOrders(orders_pb2.ListOrdersRequest(account_id="A"))
        assert [order.order_id for order in listed.orders] == placed[::-1]  # newest first
        assert exchange.projector is not None
        assert exchange.projector.position > 0

    _run(tmp_path, store_url, first)
    _run(tmp_path, store_url, second)
