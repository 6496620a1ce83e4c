"""Between the contract's messages and the engine's commands and records
(``server/gateways/grpc/convert.py``; compiled with mypyc, and these tests run
against the pure build too: tests/server/test_server_builds.py)."""

import pytest
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import orders_pb2 as pb

from matching import Engine, Instrument, NewOrder, OrderType, SelfTradePrevention, Side, TimeInForce
from server.gateways.grpc.convert import (
    BadRequest,
    add_reports,
    new_order,
    order_message,
    report_message,
)
from server.model.registry import OrderRegistry, Report
from server.model.sequenced import Sequenced


def _request(**fields: object) -> pb.PlaceOrderRequest:
    base: dict[str, object] = {
        "account_id": "ACC1",
        "symbol": "X",
        "client_order_id": "c-1",
        "side": common_pb2.SIDE_BUY,
        "order_type": common_pb2.ORDER_TYPE_LIMIT,
        "quantity": 10,
        "price": 1_500,
    }
    return pb.PlaceOrderRequest(**{**base, **fields})  # type: ignore[arg-type]


def test_a_request_becomes_the_engines_new_order_with_defaults() -> None:
    order = new_order(_request(), timestamp=7)
    assert order == NewOrder(
        7, "ACC1", "X", Side.BUY, OrderType.LIMIT, 10, 1_500, TimeInForce.DAY,
        0, 0, False, SelfTradePrevention.NONE, 0,
    )  # fmt: skip
    assert type(order.side) is Side
    assert type(order.time_in_force) is TimeInForce


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"side": 0}, "side"),
        ({"side": 99}, "side"),
        ({"order_type": 42}, "order_type"),
        ({"account_id": ""}, "account_id"),
        ({"client_order_id": "é"}, "client_order_id"),
        ({"client_order_id": "x" * 65}, "client_order_id"),
    ],
)
def test_a_bad_field_is_refused_with_its_name(fields: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        new_order(_request(**fields), timestamp=1)
    assert refused.value.field == field
    assert isinstance(refused.value, ValueError)


def _reports() -> tuple[OrderRegistry, list[Report]]:
    engine = Engine([Instrument("X", 100)])
    registry = OrderRegistry()
    reports = []
    for number, order in enumerate(
        [
            NewOrder(1, "A", "X", Side.SELL, OrderType.LIMIT, 5, 1_000, TimeInForce.GTC),
            NewOrder(2_000_000_123, "B", "X", Side.BUY, OrderType.LIMIT, 8, 1_000, TimeInForce.GTC),
        ],
        1,
    ):
        applied = Sequenced(number, order, engine.process(order), f"c{number}")
        reports += registry.apply([applied])
    return registry, reports


def test_a_report_fills_every_field_of_its_message() -> None:
    _, reports = _reports()
    fill = next(report for report in reports if report.account == "B" and report.last_quantity)
    message = report_message(fill)
    names = [name if name != "account" else "account_id" for name in Report._fields]
    for name, value in zip(names, fill, strict=True):
        if name == "transact_time":
            assert message.transact_time.seconds == 2
            assert message.transact_time.nanos == 123
        else:
            assert getattr(message, name) == value, name
    assert (message.last_quantity, message.leaves_quantity) == (5, 3)


def test_reports_are_added_in_place_in_order() -> None:
    _, reports = _reports()
    response = pb.OrderStreamResponse()
    add_reports(response.reports, reports)
    assert [message.report_sequence for message in response.reports] == [
        report.report_sequence for report in reports
    ]
    assert list(response.reports) == [report_message(report) for report in reports]


def test_an_order_record_becomes_its_message() -> None:
    registry, _ = _reports()
    record = registry.orders[2]
    message = order_message(record)
    assert (message.order_id, message.client_order_id, message.account_id) == (2, "c2", "B")
    assert (message.cum_quantity, message.leaves_quantity, message.avg_price) == (5, 3, 1_000)
    assert message.status == pb.ORDER_STATUS_PARTIALLY_FILLED
    assert message.create_time.seconds == 2
    assert not message.HasField("expire_time")
