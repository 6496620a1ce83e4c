"""The input rules at their boundaries (server/gateways/grpc/inputs.py)."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import market_data_pb2, orders_pb2, risk_pb2

from server.errors import gateway_reason
from server.gateways.grpc.inputs import LARGEST_ID, MAX_REPEATED, MAX_TEXT, page_number, violation


def _field(message: Message) -> str | None:
    found = violation(message)
    return None if found is None else found.field


@pytest.mark.parametrize(
    ("symbol", "ok"),
    [
        ("AAPL", True),
        ("BRK.A", True),
        ("X" * 32, True),
        ("X" * 33, False),
        ("A B", False),
        ("A/B", False),
        ("A:B", False),
        ("ÄPFEL", False),
        ("A\x00", False),
    ],
)
def test_symbols(symbol: str, ok: bool) -> None:
    assert _field(orders_pb2.PlaceOrderRequest(symbol=symbol)) == (None if ok else "symbol")


@pytest.mark.parametrize(
    ("client_order_id", "ok"),
    [("c1", True), ("a b~!", True), ("x" * 64, True), ("x" * 65, False), ("é", False)],
)
def test_client_order_ids(client_order_id: str, ok: bool) -> None:
    request = orders_pb2.PlaceOrderRequest(client_order_id=client_order_id)
    assert _field(request) == (None if ok else "client_order_id")


@pytest.mark.parametrize(
    ("account", "ok"),
    [("ALICE", True), ("mm-1.a_b", True), ("A" * 64, True), ("A" * 65, False), ("A B", False)],
)
def test_account_ids(account: str, ok: bool) -> None:
    assert _field(orders_pb2.MassCancelRequest(account_id=account)) == (
        None if ok else "account_id"
    )


@pytest.mark.parametrize(
    ("reason", "ok"),
    [
        ("fat finger\ton line\r\n2", True),
        ("é" * MAX_TEXT, True),
        ("x" * (MAX_TEXT + 1), False),
        ("nul\x00", False),
        ("bell\x07", False),
    ],
)
def test_free_text(reason: str, ok: bool) -> None:
    request = risk_pb2.HaltTradingRequest(symbol="AAPL", reason=reason)
    assert _field(request) == (None if ok else "reason")


@pytest.mark.parametrize(
    ("seconds", "nanos", "ok"),
    [
        (0, 0, True),
        (9_223_372_036, 854_775_807, True),
        (9_223_372_036, 854_775_808, False),
        (253402300799, 0, False),
        (-1, 999_999_999, False),
        (1, -1, False),
        (1, 1_000_000_000, False),
    ],
)
def test_timestamps(seconds: int, nanos: int, ok: bool) -> None:
    request = orders_pb2.PlaceOrderRequest(expire_time=Timestamp(seconds=seconds, nanos=nanos))
    assert _field(request) == (None if ok else "expire_time")


def test_nested_fields_are_named_by_their_path() -> None:
    command = orders_pb2.OrderCommand(place=orders_pb2.PlaceOrderRequest(symbol="A/B"))
    assert _field(command) == "place.symbol"
    assert gateway_reason("place.expire_time") == 10  # REJECT_REASON_INVALID_EXPIRE_TIME
    assert gateway_reason("place.symbol") == 0


def test_unsigned_ids_fit_the_stores_integers() -> None:
    assert _field(orders_pb2.GetOrderRequest(order_id=LARGEST_ID)) is None
    assert _field(orders_pb2.GetOrderRequest(order_id=LARGEST_ID + 1)) == "order_id"


def test_repeated_fields_are_bounded_and_each_item_checked() -> None:
    symbols = ["AAPL"] * MAX_REPEATED
    assert _field(market_data_pb2.SubscribeMarketDataRequest(symbols=symbols)) is None
    too_many = market_data_pb2.SubscribeMarketDataRequest(symbols=[*symbols, "AAPL"])
    assert _field(too_many) == "symbols"
    assert _field(market_data_pb2.SubscribeMarketDataRequest(symbols=["AAPL", "A B"])) == (
        "symbols[1]"
    )


@pytest.mark.parametrize(
    ("token", "number"),
    [
        ("0", 0),
        ("42", 42),
        (str(LARGEST_ID), LARGEST_ID),
        (str(LARGEST_ID + 1), None),
        ("9" * 26, None),
        ("²", None),
        ("\u0663", None),
        ("-1", None),
        (" 1", None),
    ],
)
def test_page_numbers(token: str, number: int | None) -> None:
    assert page_number(token) == number


@pytest.mark.parametrize(
    ("user", "ok"),
    [("9f86d081884c7d65", True), ("oidc:auth0|5f7c8ec7c33c6c004bbafe82", True), ("a b", False)],
)
def test_user_ids_admit_oidc_subjects(user: str, ok: bool) -> None:
    assert _field(risk_pb2.GetRiskRequest(user_id=user)) == (None if ok else "user_id")
