"""The risk service over gRPC, sign-in required: limits, funding, accounts,
kill switch under load, halts and alerts, each with its access rule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2
from stocktraderx.v1 import (
    common_pb2,
    options_pb2,
    orders_pb2,
    orders_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

from server.app import Exchange
from tests.server.local import local_settings

PASSWORD = "correct horse battery"
PRICE = 1_900_000  # 190.0000, AAPL's reference price in the demo configuration


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _refused(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def _buy(
    account: str, client_id: str, quantity: int = 100, price: int = PRICE
) -> orders_pb2.PlaceOrderRequest:
    return orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id=client_id, symbol="AAPL",
        side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
        time_in_force=common_pb2.TIME_IN_FORCE_GTC, quantity=quantity, price=price,
    )  # fmt: skip


def test_limits_funding_accounts_kill_switch_halts_and_alerts(tmp_path: Path) -> None:
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
    users = users_pb2_grpc.UserServiceStub(channel)
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    risk = risk_pb2_grpc.RiskServiceStub(channel)
    await users.Register(
        users_pb2.RegisterRequest(username="alice", email="a@example.com", password=PASSWORD)
    )
    login = await users.Login(users_pb2.LoginRequest(username="alice", password=PASSWORD))
    alice = _bearer(login.access_token)
    me = await users.GetCurrentUser(users_pb2.GetCurrentUserRequest(), metadata=alice)
    alice_id = me.user.user_id
    assert exchange.tokens is not None
    admin = _bearer(exchange.tokens.issue("ops", (options_pb2.ROLE_ADMIN,))[0])
    officer = _bearer(exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))[0])
    denied = grpc.StatusCode.PERMISSION_DENIED
    precondition = grpc.StatusCode.FAILED_PRECONDITION

    # On the order stream, refusals carry the contract's reasons, as unary
    # calls do (issue 16: both came back REJECT_REASON_UNSPECIFIED).
    orders_stream = orders.OrderStream(metadata=alice)  # type: ignore[call-arg]  # the stubs want an iterator; write() is the other way
    no_side = _buy("ALICE", "s1")
    no_side.side = common_pb2.SIDE_UNSPECIFIED
    for request, reason in (
        (_buy("SOMEONE_ELSE", "s0"), common_pb2.REJECT_REASON_UNKNOWN_ACCOUNT),
        (no_side, common_pb2.REJECT_REASON_INVALID_SIDE),
    ):
        await orders_stream.write(
            orders_pb2.OrderStreamRequest(commands=[orders_pb2.OrderCommand(place=request)])
        )
        response = await orders_stream.read()
        while isinstance(response, orders_pb2.OrderStreamResponse) and not response.reports:
            response = await orders_stream.read()  # heartbeats
        assert isinstance(response, orders_pb2.OrderStreamResponse)
        (report,) = response.reports
        assert (report.exec_type, report.reject_reason) == (orders_pb2.EXEC_TYPE_REJECTED, reason)
        assert report.text
    await orders_stream.done_writing()

    # The account opened with the trader defaults of the configuration.
    mine = await risk.GetRisk(risk_pb2.GetRiskRequest(user_id=alice_id), metadata=alice)
    (account,) = mine.accounts
    assert account.account_id == "ALICE"
    assert account.limits.max_order_quantity == 100_000
    assert account.limits.price_collar_bps == 1_000
    assert not account.limits.allow_short_selling
    other = risk.GetRisk(risk_pb2.GetRiskRequest(user_id="someone-else"), metadata=alice)
    assert (await _refused(other)).code() == denied
    missing = risk.GetRisk(risk_pb2.GetRiskRequest(user_id="nobody"), metadata=officer)
    assert (await _refused(missing)).code() == grpc.StatusCode.NOT_FOUND

    # No cash, no buying: the message names the cost and the buying power.
    error = await _refused(orders.PlaceOrder(_buy("ALICE", "b1"), metadata=alice))
    assert error.code() == precondition
    assert "buying power is 0.0000" in (error.details() or "")

    # Only an administrator funds.
    fund = risk_pb2.FundAccountRequest(account_id="ALICE", amount=100_000_0000, reason="wire")
    assert (await _refused(risk.FundAccount(fund, metadata=alice))).code() == denied
    zero = risk_pb2.FundAccountRequest(account_id="ALICE", amount=0)
    assert (await _refused(risk.FundAccount(zero, metadata=admin))).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    funded = await risk.FundAccount(fund, metadata=admin)
    assert funded.account.cash_balance == 100_000_0000

    await orders.PlaceOrder(_buy("ALICE", "b2"), metadata=alice)
    after = (
        await risk.GetAccount(risk_pb2.GetAccountRequest(account_id="ALICE"), metadata=alice)
    ).account
    assert after.buying_power == 100_000_0000 - 100 * PRICE
    assert after.user_id == alice_id

    # One share over the limit is refused, naming the limit.
    too_big = orders.PlaceOrder(_buy("ALICE", "b3", quantity=100_001), metadata=alice)
    error = await _refused(too_big)
    assert error.code() == precondition
    assert "max_order_quantity 100000" in (error.details() or "")

    # A risk officer narrows a limit; the trader may not.
    update = risk_pb2.UpdateRiskLimitsRequest(
        account_id="ALICE",
        limits=risk_pb2.RiskLimits(max_order_quantity=50),
        update_mask=field_mask_pb2.FieldMask(paths=["max_order_quantity"]),
        reason="review",
    )
    assert (await _refused(risk.UpdateRiskLimits(update, metadata=alice))).code() == denied
    updated = await risk.UpdateRiskLimits(update, metadata=officer)
    # The answer holds the limits now in force, not only the masked field
    # (issue 16: it echoed the request's, every other limit 0).
    assert updated.limits.max_order_quantity == 50
    assert updated.limits.max_order_notional > 0
    assert updated.limits.max_open_orders > 0
    error = await _refused(orders.PlaceOrder(_buy("ALICE", "b4", quantity=51), metadata=alice))
    assert "max_order_quantity 50" in (error.details() or "")
    await orders.PlaceOrder(_buy("ALICE", "b5", quantity=50), metadata=alice)
    bad_mask = risk_pb2.UpdateRiskLimitsRequest(
        account_id="ALICE",
        limits=risk_pb2.RiskLimits(),
        update_mask=field_mask_pb2.FieldMask(paths=["no_such_limit"]),
    )
    assert (await _refused(risk.UpdateRiskLimits(bad_mask, metadata=officer))).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )

    # Kill switch under load: many open orders, all cancelled at once.
    await risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(
            account_id="ALICE",
            limits=risk_pb2.RiskLimits(max_order_quantity=100),
            update_mask=field_mask_pb2.FieldMask(paths=["max_order_quantity"]),
        ),
        metadata=officer,
    )
    await asyncio.gather(
        *(
            orders.PlaceOrder(_buy("ALICE", f"load-{n}", quantity=1, price=PRICE - 100 * (n % 50)),
                              metadata=alice)
            for n in range(300)
        )
    )  # fmt: skip
    kill = risk_pb2.ActivateKillSwitchRequest(user_id=alice_id, reason="runaway algo")
    assert (await _refused(risk.ActivateKillSwitch(kill, metadata=alice))).code() == denied
    killed = await risk.ActivateKillSwitch(kill, metadata=officer)
    assert list(killed.account_ids) == ["ALICE"]
    assert killed.canceled_order_count == 302
    assert exchange.core is not None
    assert not exchange.core.registry.open_orders("ALICE")
    error = await _refused(orders.PlaceOrder(_buy("ALICE", "b6", quantity=1), metadata=alice))
    assert error.code() == denied
    assert "runaway algo" in (error.details() or "")
    state = await risk.GetRisk(risk_pb2.GetRiskRequest(user_id=alice_id), metadata=officer)
    assert state.accounts[0].kill_switch_active
    assert state.accounts[0].usage.reserved_cash == 0
    reset = risk_pb2.ResetKillSwitchRequest(account_id="ALICE", reason="fixed")
    assert list((await risk.ResetKillSwitch(reset, metadata=officer)).account_ids) == ["ALICE"]
    await orders.PlaceOrder(_buy("ALICE", "b7", quantity=1), metadata=alice)

    # Halts: one symbol, then the whole market.
    halt = risk_pb2.HaltTradingRequest(symbol="AAPL", reason="news pending")
    assert (await _refused(risk.HaltTrading(halt, metadata=alice))).code() == denied
    assert list((await risk.HaltTrading(halt, metadata=officer)).symbols) == ["AAPL"]
    error = await _refused(orders.PlaceOrder(_buy("ALICE", "b8", quantity=1), metadata=alice))
    assert error.code() == precondition
    again = await _refused(risk.HaltTrading(halt, metadata=officer))
    assert again.code() == precondition
    resumed = await risk.ResumeTrading(
        risk_pb2.ResumeTradingRequest(symbol="AAPL"), metadata=officer
    )
    assert list(resumed.symbols) == ["AAPL"]
    everything = await risk.HaltTrading(
        risk_pb2.HaltTradingRequest(reason="market-wide"), metadata=officer
    )
    assert "AAPL" in everything.symbols
    assert len(everything.symbols) > 1
    back = await risk.ResumeTrading(risk_pb2.ResumeTradingRequest(), metadata=officer)
    assert sorted(back.symbols) == sorted(everything.symbols)
    await orders.PlaceOrder(_buy("ALICE", "b9", quantity=1), metadata=alice)

    # Alerts: filed by an officer, listed, streamed; traders see none.
    stream = risk.StreamAlerts(
        risk_pb2.StreamAlertsRequest(symbol="AAPL"), metadata=officer, timeout=10
    )
    await asyncio.sleep(0.2)
    created = await risk.CreateAlert(
        risk_pb2.CreateAlertRequest(
            severity=risk_pb2.ALERT_SEVERITY_HIGH,
            account_id="ALICE",
            symbol="AAPL",
            description="call from the desk about ALICE's quoting",
        ),
        metadata=officer,
    )
    assert created.alert.kind == risk_pb2.ALERT_KIND_MANUAL
    assert created.alert.creator_user_id == "officer"
    async for message in stream:
        if message.HasField("alert"):
            assert message.alert.alert_id == created.alert.alert_id
            break
    stream.cancel()
    listed = await risk.ListAlerts(risk_pb2.ListAlertsRequest(account_id="ALICE"), metadata=officer)
    assert [alert.alert_id for alert in listed.alerts] == [created.alert.alert_id]
    listing = risk.ListAlerts(risk_pb2.ListAlertsRequest(), metadata=alice)
    assert (await _refused(listing)).code() == denied
    no_severity = risk_pb2.CreateAlertRequest(description="x")
    assert (await _refused(risk.CreateAlert(no_severity, metadata=officer))).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
