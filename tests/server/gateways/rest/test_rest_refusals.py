"""Over HTTP, the same split of refusals as over gRPC (issue 16, item 4): the
engine's are in ``GET /executions`` with their numbers, the gateway's are
answered to the caller alone; and a cancel's ``client_request_id`` (item 7)
comes back on its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from server.app import Exchange
from tests.server.gateways.rest.test_bridge import _order, _run, _sign_up
from tests.server.local import prepare_accounts


def test_executions_over_http_hold_engine_refusals_only(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        alice = await _sign_up(http, base, "alice")
        await prepare_accounts(exchange, "ALICE")

        async def place(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with http.post(f"{base}/orders", json=body, headers=alice) as answer:
                return answer.status, await answer.json()

        status, placed = await place(_order("ALICE", "a1"))
        assert status == 200, placed
        order_id = placed["order"]["order_id"]
        refusals = [
            (_order("ALICE", "a1"), 409),  # duplicate client order id: the gateway's
            ({**_order("ALICE", "a2"), "side": "SIDE_UNSPECIFIED"}, 400),  # the gateway's
            ({**_order("ALICE", "a3"), "side": "SIDE_SELL", "price": "189.055"}, 400),  # engine
        ]
        for body, expected in refusals:
            status, error = await place(body)
            assert status == expected, error
        async with http.delete(
            f"{base}/orders/{order_id}", params={"client_request_id": "c-1"}, headers=alice
        ) as answer:
            assert answer.status == 200, await answer.text()
        async with http.get(
            f"{base}/executions", params={"account_id": "ALICE"}, headers=alice
        ) as answer:
            assert answer.status == 200, await answer.text()
            reports = (await answer.json())["reports"]
        assert [
            (
                r["report_sequence"],
                r["exec_type"],
                r["client_order_id"],
                r.get("client_request_id", ""),
            )
            for r in reports
        ] == [
            ("1", "EXEC_TYPE_NEW", "a1", ""),
            ("2", "EXEC_TYPE_REJECTED", "a3", ""),
            ("3", "EXEC_TYPE_CANCELED", "a1", "c-1"),
        ]
        refused = reports[1]
        assert refused["reject_reason"] == "REJECT_REASON_PRICE_NOT_ON_TICK"
        assert int(refused["sequence"]) > int(reports[0]["sequence"])
        assert (refused["side"], refused["quantity"], refused["price"]) == (
            "SIDE_SELL",
            "100",
            "189.0550",
        )

    _run(tmp_path, scenario)
