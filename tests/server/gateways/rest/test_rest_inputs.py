"""Issue 14, items 3-5 through the real REST bridge over HTTP: each filed
request answers 400 with a google.rpc.Status naming what is wrong, never
a 500, and journals nothing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
import orjson
import pytest

from server.app import Exchange
from tests.server.gateways.rest.test_http_rpcs import Http, _run, _sign_up, order, violations
from tests.server.journal_count import journal_records
from tests.server.local import prepare_accounts

INVALID = grpc.StatusCode.INVALID_ARGUMENT
MAX_DEPTH = 64
"""The nesting docs/api.md allows in a body."""


async def _trader(http: Http, exchange: Exchange) -> str:
    session = await _sign_up(http, "alice")
    await prepare_accounts(exchange, "ALICE")
    return str(session["access_token"])


@pytest.mark.parametrize("expire_time", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_post_orders_with_an_expire_time_out_of_range_is_400(
    tmp_path: Path, expire_time: str
) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        token = await _trader(http, exchange)
        before = await journal_records(exchange)
        body = order("ALICE", "c1", time_in_force="TIME_IN_FORCE_GTD", expire_time=expire_time)
        refused = await http.refuse(400, INVALID, "POST", "/orders", body, token=token)
        assert violations(refused) == ["expire_time"]
        assert await journal_records(exchange) == before
        await http.ok("POST", "/orders", order("ALICE", "c1"), token=token)

    _run(tmp_path, scenario)


@pytest.mark.parametrize("token", ["²", "99999999999999999999999999"])
@pytest.mark.parametrize("path", ["/orders", "/executions", "/users/me/api-keys"])
def test_page_tokens_we_never_issued_are_400(tmp_path: Path, path: str, token: str) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        access = await _trader(http, exchange)
        params = {"page_token": token}
        if path == "/executions":
            params["account_id"] = "ALICE"
        refused = await http.refuse(400, INVALID, "GET", path, token=access, params=params)
        assert violations(refused) == ["page_token"]

    _run(tmp_path, scenario)


def _nested(levels: int) -> str:
    """JSON objects ``levels`` deep (the client's own encoder recurses too far)."""
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


def _with_expire_time(expire_time: str) -> bytes:
    body = orjson.dumps(order("ALICE", "c1", time_in_force="TIME_IN_FORCE_GTD"))
    return body[:-1] + b',"expire_time":' + expire_time.encode() + b"}"


def test_a_body_nested_1000_deep_is_400_not_a_recursion_error(tmp_path: Path) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        token = await _trader(http, exchange)
        data = _with_expire_time(_nested(1000))
        refused = await http.refuse(400, INVALID, "POST", "/orders", token=token, data=data)
        assert f"deeper than {MAX_DEPTH}" in refused["message"]
        # Within the limit the depth is no reason: the value is (not a timestamp).
        data = _with_expire_time(_nested(MAX_DEPTH - 1))
        refused = await http.refuse(400, INVALID, "POST", "/orders", token=token, data=data)
        assert "deeper" not in refused["message"]
        assert "expire_time" in refused["message"] or "Timestamp" in refused["message"]

    _run(tmp_path, scenario)


@pytest.mark.parametrize(
    "price",
    [
        " 184.00 ",
        "\u0661\u0668\u0664.\u0660\u0660",
        "184.00\n",
        "+184.00",
        "1.84e2",
        "184.",
        "1_84.00",
    ],
)
def test_prices_follow_one_strict_decimal_grammar(tmp_path: Path, price: str) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        token = await _trader(http, exchange)
        before = await journal_records(exchange)
        body = order("ALICE", "c1", price=price)
        refused = await http.refuse(400, INVALID, "POST", "/orders", body, token=token)
        assert "price" in refused["message"]
        assert await journal_records(exchange) == before
        placed = await http.ok("POST", "/orders", order("ALICE", "c1", price="184.00"), token=token)
        assert placed["order"]["price"] == "184.0000"

    _run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("field", "value"), [("client_order_id", "ordré-1"), ("symbol", "Y" * 600_000)]
)
def test_identifiers_out_of_their_charset_or_length_are_400(
    tmp_path: Path, field: str, value: str
) -> None:
    async def scenario(http: Http, exchange: Exchange) -> None:
        token = await _trader(http, exchange)
        before = await journal_records(exchange)
        body = order("ALICE", "c1")
        body[field] = value
        refused = await http.refuse(400, INVALID, "POST", "/orders", body, token=token)
        assert violations(refused) == [field]
        assert await journal_records(exchange) == before

    _run(tmp_path, scenario)


def test_malformed_http_is_400_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp answered 400 itself but logged an error with a traceback per request."""
    answers: list[bytes] = []

    async def scenario(http: Http, exchange: Exchange) -> None:
        for request in (
            b"GET /orders?symbol=" + b"A" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /orders HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", exchange.rest_port)
            writer.write(request)
            await writer.drain()
            answers.append(await reader.readline())
            writer.close()
            await writer.wait_closed()

    with caplog.at_level(logging.DEBUG):
        _run(tmp_path, scenario)
    assert [answer.split()[1] for answer in answers] == [b"400", b"400"]
    assert not [record for record in caplog.records if record.exc_info]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
