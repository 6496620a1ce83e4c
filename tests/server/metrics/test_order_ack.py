"""``stx_order_ack_seconds``: an order over HTTP is timed by the REST bridge
(``rest``) and, behind it, by the gateway's unary PlaceOrder (``grpc_unary``)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client import REGISTRY
from stocktraderx.v1 import orders_pb2 as pb

from matching import RejectReason
from server.app import Exchange
from server.gateways.grpc.refusals import refusal
from server.metrics.order_entry import reason_name, watch_streams
from tests.server.gateways.rest.test_bridge import _order, _run, _sign_up
from tests.server.local import prepare_accounts


def _acks(transport: str) -> float:
    value = REGISTRY.get_sample_value("stx_order_ack_seconds_count", {"transport": transport})
    return value or 0.0


def test_an_order_over_http_is_timed_by_the_bridge_and_the_gateway(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        alice = await _sign_up(http, base, "alice")
        await prepare_accounts(exchange, "ALICE")
        before = _acks("rest"), _acks("grpc_unary")
        async with http.post(f"{base}/orders", json=_order("ALICE", "a1"), headers=alice) as answer:
            assert answer.status == 200, await answer.text()
        async with http.post(f"{base}/orders", json=_order("ALICE", "a1"), headers=alice) as answer:
            assert answer.status == 409  # refused as a duplicate: acknowledged all the same
        async with http.get(f"{base}/orders", headers=alice) as answer:
            assert answer.status == 200  # not order entry: not timed
        assert (_acks("rest"), _acks("grpc_unary")) == (before[0] + 2, before[1] + 2)

    _run(tmp_path, scenario)


class _Session:
    def __init__(self, backlog: int) -> None:
        self.backlog = backlog


def test_stream_gauges_read_the_open_sessions_when_scraped() -> None:
    sessions = {_Session(3), _Session(4)}
    watch_streams(sessions)
    assert REGISTRY.get_sample_value("stx_order_streams") == 2
    assert REGISTRY.get_sample_value("stx_stream_backlog_reports") == 7
    sessions.pop()
    assert REGISTRY.get_sample_value("stx_order_streams") == 1


def test_gateway_refusals_are_counted_by_reason_name() -> None:
    def count(reason: str) -> float:
        return REGISTRY.get_sample_value("stx_rejects_total", {"reason": reason}) or 0.0

    before = count("INVALID_QUANTITY"), count("UNSPECIFIED")
    refusal(pb.EXEC_TYPE_REJECTED, int(RejectReason.INVALID_QUANTITY), "quantity 0")
    refusal(pb.EXEC_TYPE_REJECTED, 0, "no reason fits")
    assert (count("INVALID_QUANTITY"), count("UNSPECIFIED")) == (before[0] + 1, before[1] + 1)
    assert reason_name(10_000) == "10000"
