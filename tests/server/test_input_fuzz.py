"""Random and garbage field values on PlaceOrder (gRPC) and POST /orders (REST):
never a server error (UNKNOWN, INTERNAL, HTTP 5xx), and a refusal by the
gateway itself (INVALID_ARGUMENT from the input rules, an unparsable body,
a duplicate client order id, another's account) journals nothing.

One exchange runs on a thread of its own for all examples, as in the
schemathesis test; the journal's records are counted from its files before
and after each call.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stocktraderx.v1 import orders_pb2, orders_pb2_grpc, users_pb2, users_pb2_grpc

from server.app import Exchange
from tests.server.journal_count import journal_records
from tests.server.local import local_settings, prepare_accounts

PASSWORD = "a long passphrase here"
SERVER_ERRORS = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.UNIMPLEMENTED,
}
GATEWAY_REASONS = {
    "INVALID_ARGUMENT",
    "MALFORMED_REQUEST",
    "FORBIDDEN",
    "DUPLICATE_CLIENT_ORDER_ID",
}
"""ErrorInfo reasons of refusals made before the sequencer."""
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Running:
    exchange: Exchange
    loop: asyncio.AbstractEventLoop
    grpc_target: str
    rest_base: str
    token: str

    def journal(self) -> int:
        return asyncio.run_coroutine_threadsafe(journal_records(self.exchange), self.loop).result(
            60
        )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    started = threading.Event()
    found: list[Running] = []
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()

    async def run() -> None:
        exchange = Exchange(local_settings(data_dir))
        await exchange.start()
        assert exchange.directory is not None
        await exchange.directory.register("fuzz", "fuzz@example.com", PASSWORD)
        await prepare_accounts(exchange, "FUZZ")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
            login = await users_pb2_grpc.UserServiceStub(channel).Login(
                users_pb2.LoginRequest(username="fuzz", password=PASSWORD)
            )
        found.append(
            Running(
                exchange,
                loop,
                f"127.0.0.1:{exchange.port}",
                f"http://127.0.0.1:{exchange.rest_port}",
                login.access_token,
            )
        )
        started.set()
        await stopping.wait()
        await exchange.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(60)
    yield found[0]
    loop.call_soon_threadsafe(stopping.set)
    thread.join(60)


text = st.text(st.characters(codec="utf-8"), max_size=80)
long_text = st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(0, 5000))
int64 = st.integers(-(2**63), 2**63 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)


def _maybe(valid: st.SearchStrategy[Any], garbage: st.SearchStrategy[Any]) -> Any:
    """Mostly ``valid``: an example with every field broken stops at the first."""
    return st.sampled_from([True, True, True, False]).flatmap(
        lambda keep: valid if keep else garbage
    )


client_ids = _maybe(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), st.one_of(text, long_text))


timestamps = st.builds(
    lambda seconds, nanos: Timestamp(seconds=seconds, nanos=nanos),
    st.one_of(st.integers(-62135596800, 253402300799), int64),
    st.one_of(st.integers(0, 999_999_999), int32),
)
place_requests = st.fixed_dictionaries(
    {
        "account_id": _maybe(st.just("FUZZ"), st.one_of(text, long_text)),
        "client_order_id": client_ids,
        "symbol": _maybe(st.sampled_from(["AAPL", "MSFT"]), st.one_of(text, long_text)),
        "side": _maybe(st.sampled_from([1, 2]), int32),
        "order_type": _maybe(st.sampled_from([1, 2, 3, 4]), int32),
        "quantity": _maybe(st.sampled_from([1, 100]), int64),
        "price": _maybe(st.sampled_from([0, 1_890_500, 1_900_000]), int64),
        "time_in_force": _maybe(st.sampled_from([0, 1, 2, 3, 4, 5]), int32),
        "stop_price": _maybe(st.just(0), int64),
        "display_quantity": _maybe(st.just(0), int64),
        "post_only": st.booleans(),
        "self_trade_prevention": _maybe(st.just(0), int32),
    },
    optional={"expire_time": timestamps},
)


def _reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return ""
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return str(info.reason)
    return ""


@FUZZ
@given(fields=place_requests)
def test_place_order_over_grpc_never_fails_on_garbage(
    running: Running, fields: dict[str, Any]
) -> None:
    request = orders_pb2.PlaceOrderRequest(**fields)
    before = running.journal()
    error = _place(running, request)
    event("OK" if error is None else f"{error.code().name} {_reason(error)}")
    if error is not None:
        code = error.code()
        assert code not in SERVER_ERRORS, (code, error.details())
        if _reason(error) in GATEWAY_REASONS:
            assert running.journal() == before


def _place(running: Running, request: orders_pb2.PlaceOrderRequest) -> grpc.RpcError | None:
    """The error PlaceOrder answered with, None if it succeeded."""
    with grpc.insecure_channel(running.grpc_target) as channel:
        stub = orders_pb2_grpc.OrderServiceStub(channel)
        try:
            stub.PlaceOrder(request, metadata=(("authorization", f"Bearer {running.token}"),))
        except grpc.RpcError as error:
            return error
    return None


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(2**70), 2**70) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=10,
)
decimal_texts = st.one_of(
    st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,6})?", fullmatch=True),
    st.from_regex(r"\s*[+-]?[0-9\u0660-\u0669]{0,4}[.,]?[0-9eE_]{0,4}\s*", fullmatch=True),
)
order_bodies = st.fixed_dictionaries(
    {
        "account_id": _maybe(st.just("FUZZ"), json_values),
        "client_order_id": _maybe(client_ids, json_values),
        "symbol": _maybe(st.just("AAPL"), json_values),
        "side": _maybe(st.sampled_from(["SIDE_BUY", "SIDE_SELL"]), json_values),
        "order_type": _maybe(st.just("ORDER_TYPE_LIMIT"), json_values),
        "quantity": _maybe(st.just("100"), json_values),
        "price": st.one_of(decimal_texts, json_values),
        "time_in_force": _maybe(st.just("TIME_IN_FORCE_GTD"), json_values),
    },
    optional={
        "expire_time": st.one_of(
            st.sampled_from(
                ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2100-01-01T00:00:00Z"]
            ),
            json_values,
        ),
        "stop_price": st.one_of(decimal_texts, json_values),
        "unknown_field": json_values,
    },
)


@FUZZ
@given(body=order_bodies)
def test_post_orders_over_http_never_fails_on_garbage(
    running: Running, body: dict[str, Any]
) -> None:
    before = running.journal()
    answer = requests.post(
        f"{running.rest_base}/orders",
        # json, not orjson: it writes integers beyond 64 bits and NaN too.
        data=json.dumps(body),
        headers={"authorization": f"Bearer {running.token}", "content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code < 500, (answer.status_code, answer.text)
    if answer.status_code != 200:
        status = answer.json()
        reasons = {
            detail.get("reason")
            for detail in status["details"]
            if detail.get("@type", "").endswith("ErrorInfo")
        }
        if not reasons or reasons & GATEWAY_REASONS:
            assert running.journal() == before, status
