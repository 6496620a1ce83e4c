"""The analytics service against a real server, over gRPC and REST: the
reports of trades made through the API, who may read them, bad requests,
and the answer while the analytics process is away."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import aiohttp
import grpc
import pytest
from stocktraderx.v1 import (
    analytics_pb2,
    analytics_pb2_grpc,
    common_pb2,
    options_pb2,
    orders_pb2,
    orders_pb2_grpc,
)

from server.app import Exchange
from tests.server.local import local_settings, prepare_accounts

PRICE = 1_900_000


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _order(
    account: str, client_id: str, side: common_pb2.Side.ValueType
) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id=client_id, symbol="AAPL", side=side,
        order_type=common_pb2.ORDER_TYPE_LIMIT, time_in_force=common_pb2.TIME_IN_FORCE_GTC,
        quantity=100, price=PRICE,
    )  # fmt: skip


def test_reports_over_grpc_and_rest_with_their_access_rules(tmp_path: Path) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=True))
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await _scenario(exchange, channel)
        finally:
            await exchange.stop()

    asyncio.run(main())


async def _scenario(exchange: Exchange, channel: grpc.aio.Channel) -> None:
    assert exchange.tokens is not None
    assert exchange.core is not None
    assert exchange.analytics is not None
    await prepare_accounts(exchange, "ALICE", "BOB")
    trader = (options_pb2.ROLE_TRADER,)
    alice = _bearer(exchange.tokens.issue("alice", trader, accounts=("ALICE",))[0])
    bob = _bearer(exchange.tokens.issue("bob", trader, accounts=("BOB",))[0])
    officer = _bearer(exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))[0])
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    await orders.PlaceOrder(_order("BOB", "b1", common_pb2.SIDE_SELL), metadata=bob)
    placed = await orders.PlaceOrder(_order("ALICE", "a1", common_pb2.SIDE_BUY), metadata=alice)
    await exchange.analytics.caught_up(exchange.core.sequencer.sequence)
    traded = placed.order.update_time.ToDatetime(tzinfo=datetime.UTC).date().isoformat()

    analytics = analytics_pb2_grpc.AnalyticsServiceStub(channel)
    request = analytics_pb2.GetTradeReportRequest(account_id="ALICE", date=traded)
    report = await analytics.GetTradeReport(request, metadata=alice)
    (fill,) = report.fills
    assert (fill.client_order_id, fill.quantity, fill.price) == ("a1", 100, PRICE)
    assert (await analytics.GetTradeReport(request, metadata=officer)) == report

    # BOLA: another trader's account is refused, whether it exists or not.
    for account in ("ALICE", "NOBODY"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await analytics.GetProfitAndLoss(
                analytics_pb2.GetProfitAndLossRequest(account_id=account, date=traded),
                metadata=bob,
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as unsigned:
        await analytics.GetProfitAndLoss(
            analytics_pb2.GetProfitAndLossRequest(account_id="BOB", date=traded)
        )
    assert unsigned.value.code() == grpc.StatusCode.UNAUTHENTICATED
    for date in ("", "2026-02-30", "26-03-02", "2026-03-02T00:00:00Z"):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await analytics.GetOrderStatistics(
                analytics_pb2.GetOrderStatisticsRequest(account_id="BOB", date=date),
                metadata=bob,
            )
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "date" in (invalid.value.details() or "")
    bad_page = analytics_pb2.GetTradeReportRequest(account_id="BOB", date=traded, page_token="x")
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await analytics.GetTradeReport(bad_page, metadata=bob)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    statistics = await analytics.GetOrderStatistics(
        analytics_pb2.GetOrderStatisticsRequest(account_id="BOB", date=traded), metadata=bob
    )
    assert (statistics.total.order_count, statistics.total.fill_ratio) == (1, "1.0000")

    # REST: the same reports, money as decimal strings; market statistics are public.
    base = f"http://127.0.0.1:{exchange.rest_port}"
    headers = {"authorization": alice[0][1]}
    async with aiohttp.ClientSession() as http:
        url = f"{base}/analytics/accounts/ALICE/pnl?date={traded}"
        async with http.get(url, headers=headers) as answer:
            assert answer.status == 200
            statement = await answer.json()
        (position,) = statement["positions"]
        assert position["closing_quantity"] == "100"
        assert position["closing_price"] == "190.0000"
        assert "total_pnl" not in statement  # zero, which proto3 JSON leaves out
        others = f"{base}/analytics/accounts/BOB/pnl?date={traded}"
        async with http.get(others, headers=headers) as answer:
            assert answer.status == 403
        async with http.get(f"{base}/analytics/market-statistics?date={traded}") as answer:
            assert answer.status == 200
            (market,) = (await answer.json())["symbols"]
        assert (market["symbol"], market["volume"], market["vwap"]) == ("AAPL", "100", "190.0000")

    # The order-event trail: who sent each command, for risk officers only.
    events = analytics_pb2.ListOrderEventsRequest(date=traded, account_id="ALICE")
    trail = await analytics.ListOrderEvents(events, metadata=officer)
    assert [event.exec_type for event in trail.events] == [
        orders_pb2.EXEC_TYPE_NEW, orders_pb2.EXEC_TYPE_FILL,
    ]  # fmt: skip
    assert {(event.sender_user_id, event.sender_gateway) for event in trail.events} == {
        ("alice", "grpc")
    }
    assert trail.events[0].sender_source
    everyone = await analytics.ListOrderEvents(
        analytics_pb2.ListOrderEventsRequest(date=traded), metadata=officer
    )
    (bob_fill,) = [event for event in everyone.events if event.account_id == "BOB"][1:]
    assert not bob_fill.sender_user_id  # alice's command filled it: not bob's sender
    with pytest.raises(grpc.aio.AioRpcError) as not_officer:
        await analytics.ListOrderEvents(events, metadata=alice)
    assert not_officer.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # The compliance reports: for risk officers only, checked like the trail.
    transactions = analytics_pb2.ListTransactionReportsRequest(date=traded)
    both = await analytics.ListTransactionReports(transactions, metadata=officer)
    sides = {
        (row.account_id, row.counterparty_account_id, row.decision_user_id) for row in both.reports
    }
    assert sides == {("ALICE", "BOB", "alice"), ("BOB", "ALICE", "bob")}
    clock = await analytics.GetClockSynchronisation(
        analytics_pb2.GetClockSynchronisationRequest(date=traded), metadata=officer
    )
    assert (clock.command_count, clock.steps_back) == (2, 0)
    quality = await analytics.GetExecutionQuality(
        analytics_pb2.GetExecutionQualityRequest(date=traded), metadata=officer
    )
    assert [(line.symbol, line.execution_likelihood) for line in quality.symbols] == [
        ("AAPL", "1.0000")
    ]
    with pytest.raises(grpc.aio.AioRpcError) as not_officer:
        await analytics.GetExecutionQuality(
            analytics_pb2.GetExecutionQualityRequest(date=traded), metadata=alice
        )
    assert not_officer.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # In one process the gateway's commands reach the sequencer directly: no gateway time.
    latency = await analytics.GetLatencyPercentiles(
        analytics_pb2.GetLatencyPercentilesRequest(date=traded), metadata=officer
    )
    assert (latency.interval_seconds, latency.day.command_count) == (300, 0)
    for interval in (-1, 86_401):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await analytics.GetLatencyPercentiles(
                analytics_pb2.GetLatencyPercentilesRequest(date=traded, interval_seconds=interval),
                metadata=officer,
            )
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as not_officer:
        await analytics.GetLatencyPercentiles(
            analytics_pb2.GetLatencyPercentilesRequest(date=traded), metadata=alice
        )
    assert not_officer.value.code() == grpc.StatusCode.PERMISSION_DENIED
    venues = analytics_pb2.GetExecutionVenueSummaryRequest(from_date=traded, to_date=traded)
    summary = await analytics.GetExecutionVenueSummary(venues, metadata=officer)
    assert [(line.account_id, line.trade_count) for line in summary.summaries] == [
        ("ALICE", 1), ("BOB", 1),
    ]  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as not_officer:
        await analytics.GetExecutionVenueSummary(venues, metadata=alice)
    assert not_officer.value.code() == grpc.StatusCode.PERMISSION_DENIED
    day = datetime.date.fromisoformat(traded)
    for first, last in ((day, day - datetime.timedelta(days=1)),
                        (day, day + datetime.timedelta(days=366))):  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await analytics.GetExecutionVenueSummary(
                analytics_pb2.GetExecutionVenueSummaryRequest(
                    from_date=first.isoformat(), to_date=last.isoformat()
                ),
                metadata=officer,
            )
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "to_date" in (invalid.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await analytics.ListTransactionReports(
            analytics_pb2.ListTransactionReportsRequest(date=traded, page_token="7"),
            metadata=officer,
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # The analytics process away: the gateway says so, in its own words.
    assert exchange._reports is not None
    await exchange._reports.stop(None)
    with pytest.raises(grpc.aio.AioRpcError) as away:
        await analytics.GetTradeReport(request, metadata=alice)
    assert away.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "analytics" in (away.value.details() or "")
