"""Sync replication without a standby, as a gRPC client sees it: UNAVAILABLE."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from stocktraderx.v1 import orders_pb2_grpc, risk_pb2, risk_pb2_grpc

from tests.server.gateways.grpc.test_grpc_orders import _details, _place
from tests.server.link.test_grpc_on_replica import SELL, grpc_gateway
from tests.server.replication.harness import primary


def test_an_order_refused_for_want_of_a_standby_is_unavailable_to_the_client(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with (
            primary(tmp_path, mode="sync") as (core, server),
            grpc_gateway(tmp_path, "g1") as (_, address),
            grpc.aio.insecure_channel(address) as channel,
        ):
            orders = orders_pb2_grpc.OrderServiceStub(channel)
            before = core.sequencer.sequence
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await orders.PlaceOrder(_place("alice", "a1", SELL, 300, 1_900_000))
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
            assert _details(caught.value)[0] == "CORE_UNAVAILABLE"
            assert "replication unavailable" in (caught.value.details() or "")
            risk = risk_pb2_grpc.RiskServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await risk.FundAccount(risk_pb2.FundAccountRequest(account_id="carol", amount=1))
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
            assert core.sequencer.sequence == before  # nothing was sequenced
            assert server.refused >= 1

    asyncio.run(scenario())
