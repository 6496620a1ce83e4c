"""The REST bridge over real HTTP, in front of a real gRPC server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from server.app import Exchange
from server.auth.directory import SOURCE_LOGINS
from server.gateways.rest import openapi
from server.gateways.rest.routes import match, routes
from server.store import schema
from tests.server.local import local_settings, prepare_accounts

PASSWORD = "correct horse battery"
Scenario = Callable[[aiohttp.ClientSession, str, Exchange], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        settings = local_settings(tmp_path)
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with aiohttp.ClientSession() as session:
                await scenario(session, f"http://127.0.0.1:{exchange.rest_port}", exchange)
        finally:
            await exchange.stop()

    asyncio.run(main())


async def _sign_up(http: aiohttp.ClientSession, base: str, name: str) -> dict[str, str]:
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    async with http.post(f"{base}/users/register", json=user) as answer:
        assert answer.status == 200, await answer.text()
    login = {"username": name, "password": PASSWORD}
    async with http.post(f"{base}/users/login", json=login) as answer:
        token = (await answer.json())["access_token"]
    return {"authorization": f"Bearer {token}"}


def _order(account: str, client_id: str, price: str = "189.05") -> dict[str, Any]:
    return {
        "account_id": account, "client_order_id": client_id, "symbol": "AAPL",
        "side": "SIDE_BUY", "order_type": "ORDER_TYPE_LIMIT",
        "time_in_force": "TIME_IN_FORCE_GTC", "quantity": "100", "price": price,
    }  # fmt: skip


def test_literal_routes_win_over_templates() -> None:
    table = routes()
    found = match(table, "GET", "/market-data/historical")
    assert found is not None
    assert found[0].method.name == "GetBars"
    quote = match(table, "GET", "/market-data/BRK.A")
    assert quote is not None
    assert (quote[0].method.name, quote[1]) == ("GetQuote", {"symbol": "BRK.A"})
    replace_route = match(table, "POST", "/orders/42:replace")
    assert replace_route is not None
    assert (replace_route[0].method.name, replace_route[1]) == ("ReplaceOrder", {"order_id": "42"})
    assert match(table, "PUT", "/orders") is None


def test_orders_over_http_with_decimal_prices_and_statuses(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        alice = await _sign_up(http, base, "alice")
        bob = await _sign_up(http, base, "bob")
        await prepare_accounts(exchange, "ALICE")  # after sign-up opened it
        async with http.post(f"{base}/orders", json=_order("ALICE", "a1"), headers=alice) as answer:
            assert answer.status == 200, await answer.text()
            placed = await answer.json()
            assert answer.headers["x-request-id"]
        order = placed["order"]
        assert (order["price"], order["quantity"], order["status"]) == (
            "189.0500", "100", "ORDER_STATUS_NEW",
        )  # fmt: skip
        order_id = order["order_id"]
        async with http.get(f"{base}/orders/{order_id}", headers=alice) as answer:
            assert (await answer.json())["order"]["client_order_id"] == "a1"
        async with http.get(
            f"{base}/orders", params={"account_id": "ALICE", "open_only": "true"}, headers=alice
        ) as answer:
            assert [item["order_id"] for item in (await answer.json())["orders"]] == [order_id]
        checks: list[tuple[str, str, Any, dict[str, str], int, int]] = [
            ("POST", "/orders", _order("ALICE", "x"), {}, 401, 16),
            ("GET", f"/orders/{order_id}", None, bob, 404, 5),
            ("POST", "/orders", _order("ALICE", "a1"), alice, 409, 6),
            ("POST", "/orders", _order("ALICE", "a2", "189.00001"), alice, 400, 3),
            ("POST", "/orders", {**_order("ALICE", "a3"), "colour": "red"}, alice, 400, 3),
            ("GET", "/orders", None, {**alice, "x": "y"}, 200, 0),
            ("GET", "/nowhere", None, alice, 404, 5),
            ("POST", "/users/register",
             {"username": "alice", "email": "a2@example.com", "password": PASSWORD}, {}, 409, 6),
        ]  # fmt: skip
        for method, path, body, headers, status, code in checks:
            async with http.request(method, base + path, json=body, headers=headers) as answer:
                assert answer.status == status, (method, path, await answer.text())
                if status != 200:
                    error = await answer.json()
                    assert error["code"] == code, error
                    assert error["message"]
        async with http.post(
            f"{base}/orders",
            data=b"{not json",
            headers={**alice, "content-type": "application/json"},
        ) as answer:
            assert answer.status == 400
            assert "not JSON" in (await answer.json())["message"]
        async with http.post(
            f"{base}/orders", data=b"x" * (2 * 1024 * 1024), headers=alice
        ) as answer:
            assert answer.status == 413
        async with http.delete(f"{base}/orders/{order_id}", headers=alice) as answer:
            assert (await answer.json())["order"]["status"] == "ORDER_STATUS_CANCELED"

    _run(tmp_path, scenario)


def test_public_market_data_health_and_a_streaming_rpc(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, _: Exchange) -> None:
        async with http.get(f"{base}/healthz") as answer:
            assert (await answer.json()) == {"status": "SERVING"}
        async with http.get(f"{base}/market-data/AAPL") as answer:
            quote = (await answer.json())["quote"]
            assert quote["symbol"] == "AAPL"
            assert quote["reference_price"] == "190.0000"
        async with http.get(f"{base}/market-data/NOPE") as answer:
            assert answer.status == 404
        async with http.get(
            f"{base}/market-data:stream",
            params={"symbols": "AAPL", "channels": "MARKET_DATA_CHANNEL_L2"},
        ) as answer:
            assert answer.headers["content-type"] == "application/x-ndjson"
            first = await answer.content.readline()
            assert b'"depth_snapshot"' in first
        async with http.get(f"{base}/.well-known/jwks.json") as answer:
            assert (await answer.json())["keys"][0]["alg"] == "ES256"

    _run(tmp_path, scenario)


def test_openapi_and_swagger_ui_are_served_from_the_contract(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, _: Exchange) -> None:
        async with http.get(f"{base}/openapi.json") as answer:
            served = await answer.json()
        assert served == json.loads(json.dumps(openapi.document()))
        every = {(route.template, route.http_method.lower()) for route in routes()}
        listed = {(path, verb) for path, verbs in served["paths"].items() for verb in verbs}
        assert listed == every
        place = served["paths"]["/orders"]["post"]
        assert place["security"] == [{"bearer": []}]
        assert "security" not in served["paths"]["/market-data/{symbol}"]["get"]
        order = served["components"]["schemas"]["stocktraderx.v1.Order"]["properties"]
        assert order["price"]["format"] == "decimal"
        quantity = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
        assert order["quantity"] == {
            **quantity,
            "description": "The total quantity, filled quantity included.",
        }
        async with http.get(f"{base}/swagger-ui") as answer:
            page = await answer.text()
        assert "/openapi.json" in page
        async with http.get(f"{base}/", allow_redirects=False) as answer:
            # Not a 404 (issue 16): the API's pages.
            assert (answer.status, answer.headers["location"]) == (302, "/swagger-ui")
        assert "cdn" not in page.lower()
        async with http.get(f"{base}/swagger-ui/assets/swagger-ui-bundle.js") as answer:
            assert answer.status == 200
            assert len(await answer.read()) > 100_000

    _run(tmp_path, scenario)


def test_the_committed_openapi_document_is_fresh() -> None:
    assert openapi.main(["--check"]) == 0


def test_websocket_streams_market_data_and_own_reports_in_order(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        alice = await _sign_up(http, base, "alice")
        token = alice["authorization"].removeprefix("Bearer ")
        await prepare_accounts(exchange, "ALICE")  # after sign-up opened it
        async with http.ws_connect(f"{base}/ws") as anonymous:
            await anonymous.send_json(
                {"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE"}
            )
            await anonymous.send_json({"op": "dance"})
            errors = [await anonymous.receive_json() for _ in range(2)]
            assert {error["type"] for error in errors} == {"error"}
            # The REPORTS subscription without a token, and the unknown op.
            reasons = sorted(error["data"]["reason"] for error in errors)
            assert reasons == ["MALFORMED_REQUEST", "UNAUTHENTICATED"]
        async with http.ws_connect(f"{base}/ws?access_token={token}") as socket:
            await socket.send_json({"op": "subscribe", "channel": "L2", "symbol": "AAPL"})
            await socket.send_json({"op": "subscribe", "channel": "TRADES", "symbol": "AAPL"})
            await socket.send_json({"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE"})
            first = await socket.receive_json()
            assert first["type"] == "depth_snapshot"
            l2 = int(first["data"].get("channel_sequence", "0"))
            await asyncio.sleep(0.3)  # the report subscription reaches the exchange
            for client_id, side in (("s1", "SIDE_SELL"), ("b1", "SIDE_BUY")):
                order = {**_order("ALICE", client_id), "side": side, "self_trade_prevention":
                         "SELF_TRADE_PREVENTION_NONE"}  # fmt: skip
                async with http.post(f"{base}/orders", json=order, headers=alice) as answer:
                    assert answer.status == 200, await answer.text()
            seen: dict[str, list[dict[str, Any]]] = {}
            while len(seen.get("report", [])) < 4 or "trade" not in seen:
                message = await asyncio.wait_for(socket.receive_json(), 10)
                seen.setdefault(message["type"], []).append(message["data"])
            for update in seen.get("depth_update", []):
                assert int(update["channel_sequence"]) == l2 + 1  # in order, no gap
                l2 += 1
            assert seen["trade"][0]["price"] == "189.0500"
            kinds = [report["exec_type"] for report in seen["report"]]
            assert kinds[:2] == ["EXEC_TYPE_NEW", "EXEC_TYPE_NEW"]
            assert set(kinds[2:]) == {"EXEC_TYPE_FILL"}
        # Resuming by number (what a SLOW_CONSUMER error asks for): the
        # reports after the second, replayed; a bad number is refused.
        second = seen["report"][1]["report_sequence"]
        async with http.ws_connect(f"{base}/ws?access_token={token}") as resumed:
            for after in ("two", -1):
                await resumed.send_json(
                    {"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE",
                     "after_report_sequence": after}
                )  # fmt: skip
                refused = await asyncio.wait_for(resumed.receive_json(), 10)
                assert refused["type"] == "error"
                assert refused["data"]["reason"] == "INVALID_ARGUMENT"
                assert "after_report_sequence" in refused["data"]["message"]
            await resumed.send_json(
                {"op": "subscribe", "channel": "REPORTS", "account_id": "ALICE",
                 "after_report_sequence": second}
            )  # fmt: skip
            replayed: list[dict[str, Any]] = []
            while len(replayed) < 2:
                message = await asyncio.wait_for(resumed.receive_json(), 10)
                if message["type"] == "report":
                    replayed.append(message["data"])
            assert replayed == seen["report"][2:4]

    _run(tmp_path, scenario)


def test_cors_admits_the_frontend_origin_only(tmp_path: Path) -> None:
    async def scenario(http: aiohttp.ClientSession, base: str, _: Exchange) -> None:
        frontend = {"origin": "http://localhost:3000", "access-control-request-method": "POST"}
        async with http.options(f"{base}/orders", headers=frontend) as answer:
            assert answer.status == 204
            assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
            assert "authorization" in answer.headers["access-control-allow-headers"]
        async with http.get(f"{base}/market-data/AAPL", headers=frontend) as answer:
            assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
        stranger = {"origin": "https://evil.example"}
        async with http.get(f"{base}/market-data/AAPL", headers=stranger) as answer:
            assert "access-control-allow-origin" not in answer.headers

    _run(tmp_path, scenario)


def test_each_http_client_is_known_by_its_own_address(tmp_path: Path) -> None:
    """The bridge names its HTTP client to the gRPC server: the audit log shows
    the browser's address and the REST gateway, and the sign-in throttle
    counts each address on its own instead of every REST caller together."""

    def client(address: str) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))

    async def scenario(_: aiohttp.ClientSession, base: str, exchange: Exchange) -> None:
        async with client("127.0.0.2") as http:
            alice = await _sign_up(http, base, "alice")
            await prepare_accounts(exchange, "ALICE")
            async with http.post(
                f"{base}/orders", json=_order("ALICE", "from-2"), headers=alice
            ) as answer:
                assert answer.status == 200, await answer.text()
            # A guesser tries many names (each name alone would lock after a
            # few failures) until this address is throttled. The counter's
            # window is the minute, which may turn during the loop.
            statuses = []
            for attempt in range(2 * SOURCE_LOGINS + 2):
                wrong = {"username": f"guess{attempt}", "password": "wrong password!"}
                async with http.post(f"{base}/users/login", json=wrong) as answer:
                    statuses.append(answer.status)
                    refusal = await answer.json()
                if answer.status != 401:
                    break
            assert statuses[-1] == 429, statuses
            assert len(statuses) >= SOURCE_LOGINS
            assert "this address" in refusal["message"]
        async with client("127.0.0.3") as http:
            login = {"username": "alice", "password": PASSWORD}
            async with http.post(f"{base}/users/login", json=login) as answer:
                assert answer.status == 200, await answer.text()
        assert exchange.projector is not None
        assert exchange.core is not None
        assert exchange.store is not None
        await exchange.projector.caught_up(exchange.core.sequencer.sequence)
        entries = await exchange.store.rows(schema.audit_log, ["sequence"])
        (order,) = [row for row in entries if row.client_order_id == "from-2"]
        assert (order.gateway, order.source) == ("rest", "127.0.0.2")
        signs = await exchange.store.rows(schema.auth_log, ["entry_id"])
        kept = ("register", "login", "login_failed")
        assert [(row.event, row.source, row.gateway) for row in signs if row.event in kept] == [
            ("register", "127.0.0.2", "rest"),
            ("login", "127.0.0.2", "rest"),
            *[("login_failed", "127.0.0.2", "rest")] * (len(statuses) - 1),
            ("login", "127.0.0.3", "rest"),
        ]

    _run(tmp_path, scenario)
