"""Every RPC the contract maps to HTTP, called over real HTTP, and each error
class of the grpc-gateway table the bridge answers with (issue 7, part 5).

The exchange runs in-process (``tests/server/local.py``) with its REST bridge
on a free port, and the calls go through aiohttp as any HTTP client's would.
Each call is resolved to its RPC by the bridge's own router and recorded
when it succeeded, so the scenario proves, rather than claims, that every
annotated RPC answered over HTTP. ``COVERED`` must name every annotated
RPC, which ``test_every_annotated_rpc_is_covered`` checks against the
generated descriptors, so a new RPC cannot go untested.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import stocktraderx.v1
from aiohttp import web
from google.api import annotations_pb2

from server.app import Exchange
from server.auth.access import ADMIN
from server.auth.directory import LOGIN_FAILURES, TRADER
from server.errors import ERROR_DOMAIN
from server.gateways.rest.bridge import MAX_BODY, RestBridge
from server.gateways.rest.routes import Router, routes
from tests.server.local import local_settings, prepare_accounts

PASSWORD = "correct horse battery"
COVERED = (
    "/stocktraderx.v1.OrderService/PlaceOrder",
    "/stocktraderx.v1.OrderService/CancelOrder",
    "/stocktraderx.v1.OrderService/ReplaceOrder",
    "/stocktraderx.v1.OrderService/GetOrder",
    "/stocktraderx.v1.OrderService/ListOrders",
    "/stocktraderx.v1.OrderService/MassCancel",
    "/stocktraderx.v1.OrderService/ListExecutions",
    "/stocktraderx.v1.OrderService/GetOrderEntryStatistics",
    "/stocktraderx.v1.ReferenceDataService/ListInstruments",
    "/stocktraderx.v1.ReferenceDataService/GetInstrument",
    "/stocktraderx.v1.ReferenceDataService/SetTradingPhase",
    "/stocktraderx.v1.MarketDataService/GetQuote",
    "/stocktraderx.v1.MarketDataService/GetDepth",
    "/stocktraderx.v1.MarketDataService/ListTrades",
    "/stocktraderx.v1.MarketDataService/GetBars",
    "/stocktraderx.v1.MarketDataService/SubscribeMarketData",
    "/stocktraderx.v1.UserService/Register",
    "/stocktraderx.v1.UserService/Login",
    "/stocktraderx.v1.UserService/RefreshToken",
    "/stocktraderx.v1.UserService/Logout",
    "/stocktraderx.v1.UserService/GetCurrentUser",
    "/stocktraderx.v1.UserService/CreateApiKey",
    "/stocktraderx.v1.UserService/ListApiKeys",
    "/stocktraderx.v1.UserService/RevokeApiKey",
    "/stocktraderx.v1.UserService/ExchangeApiKey",
    "/stocktraderx.v1.UserService/GetJwks",
    "/stocktraderx.v1.RiskService/GetRisk",
    "/stocktraderx.v1.RiskService/UpdateRiskLimits",
    "/stocktraderx.v1.RiskService/CreateAlert",
    "/stocktraderx.v1.RiskService/ListAlerts",
    "/stocktraderx.v1.RiskService/StreamAlerts",
    "/stocktraderx.v1.RiskService/GetAlert",
    "/stocktraderx.v1.RiskService/ResolveAlert",
    "/stocktraderx.v1.RiskService/ActivateKillSwitch",
    "/stocktraderx.v1.RiskService/ResetKillSwitch",
    "/stocktraderx.v1.RiskService/HaltTrading",
    "/stocktraderx.v1.RiskService/ResumeTrading",
    "/stocktraderx.v1.RiskService/GetAccount",
    "/stocktraderx.v1.RiskService/FundAccount",
    "/stocktraderx.v1.AnalyticsService/GetTradeReport",
    "/stocktraderx.v1.AnalyticsService/GetProfitAndLoss",
    "/stocktraderx.v1.AnalyticsService/GetOrderStatistics",
    "/stocktraderx.v1.AnalyticsService/ListOrderEvents",
    "/stocktraderx.v1.AnalyticsService/GetMarketStatistics",
    "/stocktraderx.v1.AnalyticsService/ListTransactionReports",
    "/stocktraderx.v1.AnalyticsService/GetClockSynchronisation",
    "/stocktraderx.v1.AnalyticsService/GetExecutionQuality",
    "/stocktraderx.v1.AnalyticsService/GetExecutionVenueSummary",
    "/stocktraderx.v1.AnalyticsService/GetLatencyPercentiles",
    "/stocktraderx.v1.AdminService/ListUsers",
    "/stocktraderx.v1.AdminService/CreateUser",
    "/stocktraderx.v1.AdminService/SetUserRoles",
    "/stocktraderx.v1.AdminService/DisableUser",
    "/stocktraderx.v1.AdminService/EnableUser",
    "/stocktraderx.v1.AdminService/ListAccounts",
    "/stocktraderx.v1.AdminService/ListAuditEntries",
    "/stocktraderx.v1.AdminService/VerifyAuditLogs",
)
"""The annotated RPCs the success scenario calls, each at least once."""
_C = grpc.StatusCode
ERROR_CLASSES = frozenset(
    {
        (400, _C.INVALID_ARGUMENT.value[0]),
        (400, _C.FAILED_PRECONDITION.value[0]),
        (401, _C.UNAUTHENTICATED.value[0]),
        (403, _C.PERMISSION_DENIED.value[0]),
        (404, _C.NOT_FOUND.value[0]),
        (409, _C.ALREADY_EXISTS.value[0]),
        (429, _C.RESOURCE_EXHAUSTED.value[0]),
        (503, _C.UNAVAILABLE.value[0]),
        (413, _C.INVALID_ARGUMENT.value[0]),
    }
)
"""(HTTP status, google.rpc code) pairs the error scenario must produce."""
ROUTER = Router(routes())
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def annotated_rpcs() -> set[str]:
    """``/package.Service/Method`` of every RPC with a ``google.api.http`` rule
    in the generated contract: every module, not only those the bridge reads."""
    found: set[str] = set()
    for module in pkgutil.iter_modules(stocktraderx.v1.__path__):
        if not module.name.endswith("_pb2"):
            continue
        file = importlib.import_module(f"stocktraderx.v1.{module.name}").DESCRIPTOR
        for service in file.services_by_name.values():
            for method in service.methods:
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                if rule.WhichOneof("pattern") is not None:
                    found.add(f"/{service.full_name}/{method.name}")
    return found


def _service(rpc: str) -> str:
    return rpc.split("/")[1]


@dataclass
class Http:
    """An HTTP client of the bridge that remembers what it was answered."""

    session: aiohttp.ClientSession
    base: str
    succeeded: set[str] = field(default_factory=set)
    """RPCs (full names) that answered 200."""
    refused: set[tuple[int, int]] = field(default_factory=set)
    """(HTTP status, google.rpc code) of every error answer."""

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str = "",
        params: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if data is not None:
            headers["content-type"] = "application/json"
        async with self.session.request(
            method,
            self.base + path,
            json=body if data is None else None,
            data=data,
            params=params,
            headers=headers,
        ) as answer:
            status = answer.status
            if answer.content_type == "application/x-ndjson":
                payload: Any = [await answer.content.readline()]  # a stream: its first line
            else:
                payload = await answer.json(content_type=None)
        found = ROUTER.match(method, path)
        if status == 200 and found is not None:
            self.succeeded.add(found[0].grpc_path)
        elif status != 200:
            self.refused.add((status, payload["code"]))
        return status, payload

    async def ok(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        status, payload = await self.call(method, path, body, **options)
        assert status == 200, (method, path, payload)
        return payload

    async def refuse(
        self,
        status: int,
        code: grpc.StatusCode,
        method: str,
        path: str,
        body: Any = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Call, expect the refusal, and check its google.rpc.Status body."""
        answered, payload = await self.call(method, path, body, **options)
        assert answered == status, (method, path, payload)
        assert payload["code"] == code.value[0], payload
        assert isinstance(payload["message"], str), payload
        assert payload["message"], payload
        infos = [detail for detail in payload["details"] if detail["@type"] == ERROR_INFO]
        assert [info["domain"] for info in infos] == [ERROR_DOMAIN], payload
        return dict(payload)


def reasons(status: dict[str, Any]) -> list[str]:
    return [detail["reason"] for detail in status["details"] if detail["@type"] == ERROR_INFO]


def violations(status: dict[str, Any]) -> list[str]:
    return [
        violation["field"]
        for detail in status["details"]
        if detail["@type"] == BAD_REQUEST
        for violation in detail["field_violations"]
    ]


Scenario = Callable[[Http, Exchange], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path))
        await exchange.start()
        try:
            async with aiohttp.ClientSession() as session:
                await scenario(Http(session, f"http://127.0.0.1:{exchange.rest_port}"), exchange)
        finally:
            await exchange.stop()

    asyncio.run(main())


async def _sign_up(http: Http, name: str) -> dict[str, Any]:
    """Register ``name`` (a trader with the account ``NAME``) and sign in."""
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    registered = await http.ok("POST", "/users/register", user)
    assert registered["user"]["account_ids"] == [name.upper()]
    session: dict[str, Any] = await http.ok(
        "POST", "/users/login", {"username": name, "password": PASSWORD}
    )
    return session


async def _operator(http: Http, exchange: Exchange) -> str:
    """An administrator's access token (administrators are made, not registered)."""
    assert exchange.directory is not None
    await exchange.directory.ensure_user("operator", "ops@example.com", PASSWORD, (ADMIN, TRADER))
    session = await http.ok("POST", "/users/login", {"username": "operator", "password": PASSWORD})
    return str(session["access_token"])


def order(account: str, client_order_id: str, **changes: str) -> dict[str, str]:
    """The body of POST /orders, the one place these tests describe an order:
    a GTC limit buy of 100 AAPL at 189.05 unless ``changes`` say otherwise.

    Buyers need cash (pre-trade risk checks buying power): the scenarios fund
    their accounts with ``prepare_accounts``."""
    return {
        "account_id": account, "client_order_id": client_order_id, "symbol": "AAPL",
        "side": "SIDE_BUY", "order_type": "ORDER_TYPE_LIMIT",
        "time_in_force": "TIME_IN_FORCE_GTC", "quantity": "100", "price": "189.05",
        "self_trade_prevention": "SELF_TRADE_PREVENTION_NONE", **changes,
    }  # fmt: skip


async def _placed(
    http: Http, token: str, account: str, client_order_id: str, **changes: str
) -> Any:
    answer = await http.ok(
        "POST", "/orders", order(account, client_order_id, **changes), token=token
    )
    return answer["order"]


def test_every_annotated_rpc_is_covered() -> None:
    annotated = annotated_rpcs()
    assert annotated == set(COVERED)
    # ... and the bridge serves every one of them (its list of proto files is complete).
    assert {route.grpc_path for route in routes()} == annotated


async def _users_and_keys(http: Http, exchange: Exchange) -> dict[str, Any]:
    alice = await _sign_up(http, "alice")
    assert alice["token_type"] == "Bearer"
    assert alice["expires_in"] > 0
    refreshed = await http.ok(
        "POST", "/users/token:refresh", {"refresh_token": alice["refresh_token"]}
    )
    token = refreshed["access_token"]
    me = await http.ok("GET", "/users/me", token=token)
    assert (me["user"]["username"], me["user"]["roles"]) == ("alice", ["ROLE_TRADER"])
    created = await http.ok("POST", "/users/me/api-keys", {"label": "bot"}, token=token)
    key_id, secret = created["api_key"]["key_id"], created["secret"]
    listed = await http.ok("GET", "/users/me/api-keys", token=token)
    assert [key["key_id"] for key in listed["api_keys"]] == [key_id]
    exchanged = await http.ok("POST", "/oauth/token", {"key_id": key_id, "secret": secret})
    as_bot = await http.ok("GET", "/users/me", token=exchanged["access_token"])
    assert as_bot["user"]["username"] == "alice"
    revoked = await http.ok("DELETE", f"/users/me/api-keys/{key_id}", token=token)
    assert revoked["api_key"]["revoke_time"].endswith("Z")
    jwks = await http.ok("GET", "/.well-known/jwks.json")
    assert {key["alg"] for key in jwks["keys"]} == {"ES256"}
    assert await http.ok("POST", "/users/logout", {"refresh_token": refreshed["refresh_token"]},
                         token=token) == {}  # fmt: skip
    session: dict[str, Any] = await http.ok(
        "POST", "/users/login", {"username": "alice", "password": PASSWORD}
    )
    return session


async def _reference_data(http: Http, exchange: Exchange) -> None:
    listed = await http.ok("GET", "/instruments", params={"page_size": "100"})
    assert "AAPL" in [instrument["symbol"] for instrument in listed["instruments"]]
    brk = (await http.ok("GET", "/instruments/BRK.A"))["instrument"]
    assert (brk["tick_size"], brk["reference_price"]) == ("1.0000", "650000.0000")
    operator = await _operator(http, exchange)
    for phase in ("TRADING_PHASE_HALTED", "TRADING_PHASE_CONTINUOUS"):
        changed = await http.ok(
            "POST", "/instruments/F:setTradingPhase", {"trading_phase": phase}, token=operator
        )
        assert changed["instrument"]["trading_phase"] == phase


async def _orders_and_market_data(http: Http, exchange: Exchange, alice: str) -> None:
    bob = (await _sign_up(http, "bob"))["access_token"]
    await prepare_accounts(exchange, "ALICE", "BOB")
    order = await _placed(http, alice, "ALICE", "a1")
    assert (order["price"], order["quantity"], order["status"]) == (
        "189.0500", "100", "ORDER_STATUS_NEW",
    )  # fmt: skip
    order_id = order["order_id"]
    got = await http.ok("GET", f"/orders/{order_id}", token=alice)
    assert got["order"]["client_order_id"] == "a1"
    replaced = await http.ok(
        "POST", f"/orders/{order_id}:replace", {"quantity": "200", "price": "189.10"}, token=alice
    )
    assert (replaced["order"]["quantity"], replaced["order"]["price"]) == ("200", "189.1000")
    await _placed(http, bob, "BOB", "b1", side="SIDE_SELL", price="189.10", quantity="50")
    listed = await http.ok(
        "GET", "/orders", token=alice, params={"account_id": "ALICE", "open_only": "true"}
    )
    [open_order] = listed["orders"]
    assert (open_order["order_id"], open_order["status"], open_order["cum_quantity"]) == (
        order_id, "ORDER_STATUS_PARTIALLY_FILLED", "50",
    )  # fmt: skip
    reports = await http.ok("GET", "/executions", token=alice, params={"account_id": "ALICE"})
    assert [report["exec_type"] for report in reports["reports"]] == [
        "EXEC_TYPE_NEW", "EXEC_TYPE_REPLACED", "EXEC_TYPE_PARTIAL_FILL",
    ]  # fmt: skip
    quote = (await http.ok("GET", "/market-data/AAPL"))["quote"]
    assert (quote["last_price"], quote["last_quantity"]) == ("189.1000", "50")
    depth = (await http.ok("GET", "/market-data/AAPL/depth", params={"depth": "5"}))["depth"]
    assert depth["bids"][0] == {"price": "189.1000", "quantity": "150", "order_count": 1}
    assert exchange.projector is not None
    assert exchange.core is not None
    await exchange.projector.caught_up(exchange.core.sequencer.sequence, 10)
    trades = (await http.ok("GET", "/market-data/AAPL/trades"))["trades"]
    assert [(trade["price"], trade["quantity"]) for trade in trades] == [("189.1000", "50")]
    hour_ago = datetime.fromtimestamp(time.time() - 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    bars = await http.ok(
        "GET",
        "/market-data/historical",
        params={"symbol": "AAPL", "interval": "BAR_INTERVAL_1M", "start_time": hour_ago},
    )
    assert [(bar["close_price"], bar["volume"]) for bar in bars["bars"]] == [("189.1000", "50")]
    [first] = await http.ok(
        "GET",
        "/market-data:stream",
        params={"symbols": "AAPL", "channels": "MARKET_DATA_CHANNEL_L1"},
    )
    assert b'"last_price":"189.1000"' in first
    canceled = await http.ok("DELETE", f"/orders/{order_id}", token=alice)
    assert canceled["order"]["status"] == "ORDER_STATUS_CANCELED"
    second = await _placed(http, alice, "ALICE", "a2")
    third = await _placed(http, alice, "ALICE", "a3", price="189.00")
    swept = await http.ok("POST", "/orders:massCancel", {"account_id": "ALICE"}, token=alice)
    assert sorted(swept["canceled_order_ids"]) == sorted([second["order_id"], third["order_id"]])
    # The gateway's order entry since its start: a1, b1, a2 and a3, each
    # counted once though they came through the bridge.
    assert exchange.entries is not None
    exchange.entries.sample()
    entry = await http.ok("GET", "/order-entry/statistics", token=alice)
    assert (entry["interval_seconds"], entry["kept_intervals"]) == (5, 360)
    counts = [int(found.get("acknowledged_count", "0")) for found in entry["intervals"]]
    assert sum(counts) == 4
    for found in entry["intervals"]:
        if found.get("acknowledged_count", "0") != "0":
            assert 0 < int(found["p50_latency_micros"]) <= int(found["p99_latency_micros"])


async def _risk(http: Http, exchange: Exchange, alice: str) -> None:
    operator = await _operator(http, exchange)
    me = await http.ok("GET", "/users/me", token=alice)
    user_id = me["user"]["user_id"]
    funded = await http.ok(
        "POST", "/accounts/ALICE:fund", {"amount": "2500.50", "reason": "wire 42"}, token=operator
    )
    cash = funded["account"]["cash_balance"]
    account = (await http.ok("GET", "/accounts/ALICE", token=alice))["account"]
    assert account["cash_balance"] == cash
    assert account["currency"] == "USD"
    limits = await http.ok(
        "PATCH",
        "/risk/accounts/ALICE/limits",
        {"max_order_quantity": "500"},
        token=operator,
        params={"update_mask": "maxOrderQuantity", "reason": "review"},  # JSON: camelCase
    )
    assert limits["limits"]["max_order_quantity"] == "500"
    risk = await http.ok("GET", f"/risk/{user_id}", token=alice)
    [mine] = risk["accounts"]
    assert (mine["account_id"], mine["limits"]["max_order_quantity"]) == ("ALICE", "500")
    assert limits["limits"] == mine["limits"]  # every limit in force, not only the masked one
    killed = await http.ok(
        "POST", "/risk/kill-switch:activate", {"account_id": "ALICE", "reason": "drill"},
        token=operator,
    )  # fmt: skip
    assert killed["account_ids"] == ["ALICE"]
    reset = await http.ok(
        "POST", "/risk/kill-switch:reset", {"account_id": "ALICE", "reason": "drill over"},
        token=operator,
    )  # fmt: skip
    assert reset["account_ids"] == ["ALICE"]
    halted = await http.ok(
        "POST", "/risk/trading:halt", {"symbol": "NVDA", "reason": "news"}, token=operator
    )
    assert halted["symbols"] == ["NVDA"]
    resumed = await http.ok("POST", "/risk/trading:resume", {"symbol": "NVDA"}, token=operator)
    assert resumed["symbols"] == ["NVDA"]
    alert = await http.ok(
        "POST",
        "/risk/alerts",
        {"severity": "ALERT_SEVERITY_LOW", "symbol": "NVDA", "description": "desk call"},
        token=operator,
    )
    assert alert["alert"]["kind"] == "ALERT_KIND_MANUAL"
    listed = await http.ok("GET", "/risk/alerts", token=operator, params={"symbol": "NVDA"})
    assert [found["alert_id"] for found in listed["alerts"]] == [alert["alert"]["alert_id"]]
    [first] = await http.ok("GET", "/risk/alerts:stream", token=operator)
    assert first  # a heartbeat or an alert: the stream answered
    alert_id = alert["alert"]["alert_id"]
    dismissed = await http.ok(
        "POST", f"/risk/alerts/{alert_id}:resolve",
        {"status": "ALERT_STATUS_DISMISSED", "note": "the desk confirmed the hedge"},
        token=operator,
    )  # fmt: skip
    assert dismissed["alert"]["status"] == "ALERT_STATUS_DISMISSED"
    found = await http.ok("GET", f"/risk/alerts/{alert_id}", token=operator)
    assert [(review["from_status"], review["to_status"], review["note"])
            for review in found["reviews"]] == [
        ("ALERT_STATUS_OPEN", "ALERT_STATUS_DISMISSED", "the desk confirmed the hedge")
    ]  # fmt: skip
    closed = await http.ok(
        "GET", "/risk/alerts", token=operator, params={"statuses": "ALERT_STATUS_DISMISSED"}
    )
    assert [listed["alert_id"] for listed in closed["alerts"]] == [alert_id]


async def _analytics(http: Http, exchange: Exchange, alice: str) -> None:
    assert exchange.analytics is not None
    assert exchange.core is not None
    await exchange.analytics.caught_up(exchange.core.sequencer.sequence)
    operator = await _operator(http, exchange)
    day = {"date": datetime.now(UTC).date().isoformat()}
    for path in ("trades", "pnl", "order-statistics"):
        await http.ok("GET", f"/analytics/accounts/ALICE/{path}", token=alice, params=day)
    events = await http.ok("GET", "/analytics/order-events", token=operator, params=day)
    assert any(event["account_id"] == "ALICE" for event in events["events"])
    await http.ok("GET", "/analytics/market-statistics", params=day)
    for path in ("transactions", "clock", "execution-quality"):
        await http.ok("GET", f"/analytics/compliance/{path}", token=operator, params=day)
    both = {"from_date": day["date"], "to_date": day["date"]}
    venues = await http.ok(
        "GET", "/analytics/compliance/execution-venues", token=operator, params=both
    )
    assert "ALICE" in [line["account_id"] for line in venues["summaries"]]
    latency = await http.ok(
        "GET", "/analytics/latency", token=operator, params={**day, "interval_seconds": "60"}
    )
    assert latency["interval_seconds"] == 60


async def _administration(http: Http, exchange: Exchange) -> None:
    operator = await _operator(http, exchange)
    dave = {
        "username": "dave", "email": "dave@example.com", "password": PASSWORD,
        "roles": ["ROLE_TRADER"], "account_ids": ["DAVE.2"],
    }  # fmt: skip
    created = await http.ok("POST", "/admin/users", dave, token=operator)
    user_id = created["user"]["user_id"]
    assert created["user"]["account_ids"] == ["DAVE", "DAVE.2"]
    listed = await http.ok("GET", "/admin/users", token=operator, params={"page_size": "100"})
    assert "dave" in [user["username"] for user in listed["users"]]
    roles = await http.ok(
        "POST", f"/admin/users/{user_id}:setRoles", {"roles": ["ROLE_VIEWER"]}, token=operator
    )
    assert roles["user"]["roles"] == ["ROLE_VIEWER"]
    for change, disabled in (("disable", True), ("enable", False)):
        answer = await http.ok(
            "POST", f"/admin/users/{user_id}:{change}", {"reason": "drill"}, token=operator
        )
        assert answer["user"].get("disabled", False) is disabled  # false is left out
    accounts = await http.ok("GET", "/admin/accounts", token=operator)
    [dave_2] = [
        found for found in accounts["accounts"] if found["account"]["account_id"] == "DAVE.2"
    ]
    assert dave_2["username"] == "dave"
    entries = await http.ok(
        "GET", "/admin/audit/entries", token=operator, params={"log": "AUDIT_LOG_AUTH"}
    )
    assert entries["entries"][0]["action"] == "user_enabled"
    verified = await http.ok("GET", "/admin/audit:verify", token=operator)
    assert [log["holds"] for log in verified["logs"]] == [True, True]


def test_every_annotated_rpc_answers_over_http(tmp_path: Path) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        alice = await _users_and_keys(http, exchange)
        await _reference_data(http, exchange)
        await _orders_and_market_data(http, exchange, alice["access_token"])
        await _risk(http, exchange, alice["access_token"])
        await _analytics(http, exchange, alice["access_token"])
        await _administration(http, exchange)
        assert http.succeeded == set(COVERED)
        assert not http.refused

    _run(tmp_path, scenario)


async def _client_errors(http: Http, exchange: Exchange) -> None:
    """400, 401, 403, 404, 409 and 429 from the server, through the bridge."""
    alice = (await _sign_up(http, "alice"))["access_token"]
    await _sign_up(http, "bob")
    await prepare_accounts(exchange, "ALICE")
    await _placed(http, alice, "ALICE", "a1")
    invalid = await http.refuse(
        400, _C.INVALID_ARGUMENT, "POST", "/orders", order("ALICE", "a2", quantity="0"),
        token=alice,
    )  # fmt: skip
    assert reasons(invalid) == ["INVALID_QUANTITY"]
    assert violations(invalid) == ["quantity"]
    no_interval = await http.refuse(
        400, _C.INVALID_ARGUMENT, "GET", "/market-data/historical", params={"symbol": "AAPL"}
    )
    assert violations(no_interval) == ["interval"]
    operator = await _operator(http, exchange)
    continuous = {"trading_phase": "TRADING_PHASE_CONTINUOUS"}  # F already is
    phase = await http.refuse(
        400, _C.FAILED_PRECONDITION, "POST", "/instruments/F:setTradingPhase", continuous,
        token=operator,
    )  # fmt: skip
    assert reasons(phase) == ["INVALID_PHASE_TRANSITION"]
    anonymous = await http.refuse(401, _C.UNAUTHENTICATED, "POST", "/orders", order("ALICE", "a3"))
    assert "sign in" in anonymous["message"]
    assert reasons(anonymous) == ["UNAUTHENTICATED"]
    wrong = await http.refuse(
        401, _C.UNAUTHENTICATED, "POST", "/users/login",
        {"username": "alice", "password": "not the password"},
    )  # fmt: skip
    assert reasons(wrong) == ["UNAUTHENTICATED"]
    foreign = await http.refuse(
        403, _C.PERMISSION_DENIED, "POST", "/orders", order("BOB", "a4"), token=alice
    )
    assert reasons(foreign) == ["FORBIDDEN"]
    roles = await http.refuse(
        403, _C.PERMISSION_DENIED, "POST", "/instruments/F:setTradingPhase",
        {"trading_phase": "TRADING_PHASE_HALTED"}, token=alice,
    )  # fmt: skip
    assert "roles" in roles["message"]
    assert reasons(roles) == ["FORBIDDEN"]
    unknown = await http.refuse(404, _C.NOT_FOUND, "GET", "/instruments/NOPE")
    assert reasons(unknown) == ["UNKNOWN_SYMBOL"]
    missing = await http.refuse(404, _C.NOT_FOUND, "GET", "/orders/999999", token=alice)
    assert reasons(missing) == ["UNKNOWN_ORDER"]
    no_route = await http.refuse(404, _C.NOT_FOUND, "PUT", "/orders")
    assert reasons(no_route) == ["NOT_FOUND"]
    duplicate = await http.refuse(
        409, _C.ALREADY_EXISTS, "POST", "/orders", order("ALICE", "a1"), token=alice
    )
    assert reasons(duplicate) == ["DUPLICATE_CLIENT_ORDER_ID"]
    taken = {"username": "alice", "email": "other@example.com", "password": PASSWORD}
    exists = await http.refuse(409, _C.ALREADY_EXISTS, "POST", "/users/register", taken)
    assert reasons(exists) == ["EXISTS"]
    guess = {"username": "bob", "password": "guessing"}
    for _ in range(LOGIN_FAILURES):
        await http.refuse(401, _C.UNAUTHENTICATED, "POST", "/users/login", guess)
    right = {"username": "bob", "password": PASSWORD}
    locked = await http.refuse(429, _C.RESOURCE_EXHAUSTED, "POST", "/users/login", right)
    assert reasons(locked) == ["THROTTLED"]


async def _malformed_requests(http: Http) -> None:
    """What the bridge refuses itself, before any RPC: 400 and 413."""
    login = await http.ok("POST", "/users/login", {"username": "alice", "password": PASSWORD})
    token = login["access_token"]
    cases: list[tuple[int, str, str, bytes, str]] = [
        (400, "POST", "/orders", b"{not json", "not JSON"),
        (400, "POST", "/orders", b'["an", "array"]', "must be a JSON object"),
        (400, "POST", "/orders", b'{"account_id": "ALICE", "colour": "red"}', "colour"),
        (400, "POST", "/orders", b'{"price": "189.00001"}', "decimal places"),
        (400, "POST", "/orders", b'{"quantity": "ten"}', "quantity"),
        (413, "POST", "/orders", b"x" * (MAX_BODY + 1), f"exceeds {MAX_BODY} bytes"),
    ]
    for status, method, path, data, words in cases:
        refused = await http.refuse(
            status, _C.INVALID_ARGUMENT, method, path, data=data, token=token
        )
        assert words in refused["message"], refused
        too_large = status == 413
        assert reasons(refused) == ["REQUEST_TOO_LARGE" if too_large else "MALFORMED_REQUEST"]
    unknown = await http.refuse(400, _C.INVALID_ARGUMENT, "GET", "/orders",
                                token=token, params={"colour": "red"})  # fmt: skip
    assert "colour" in unknown["message"]
    assert reasons(unknown) == ["MALFORMED_REQUEST"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _unavailable(http: Http) -> None:
    """503: a bridge of its own (``stx rest``) whose gRPC server is down."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{_free_port()}")
    runner = web.AppRunner(RestBridge(channel).app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        alone = Http(http.session, f"http://127.0.0.1:{runner.addresses[0][1]}")
        down = await alone.refuse(503, _C.UNAVAILABLE, "GET", "/instruments")
        assert reasons(down) == ["BACKEND_UNAVAILABLE"]
        http.refused |= alone.refused
    finally:
        await runner.cleanup()
        await channel.close(None)


def test_each_error_class_over_http(tmp_path: Path) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        await _client_errors(http, exchange)
        await _malformed_requests(http)
        await _unavailable(http)
        assert http.refused == ERROR_CLASSES

    _run(tmp_path, scenario)
