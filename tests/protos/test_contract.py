"""The public contract agrees with the engine and is complete."""

from enum import IntEnum

import pytest
from google.api import annotations_pb2
from google.protobuf.descriptor import EnumDescriptor, FileDescriptor
from stocktraderx.v1 import (
    common_pb2,
    market_data_pb2,
    options_pb2,
    orders_pb2,
    reference_data_pb2,
    risk_pb2,
    users_pb2,
)

import matching

FILES: list[FileDescriptor] = [
    module.DESCRIPTOR
    for module in (
        orders_pb2,
        market_data_pb2,
        users_pb2,
        risk_pb2,
        reference_data_pb2,
    )
]


def _prefix(enum: EnumDescriptor) -> str:
    name = enum.name
    return "".join(f"_{c}" if c.isupper() else c.upper() for c in name).lstrip("_") + "_"


@pytest.mark.parametrize(
    ("engine_enum", "proto_name"),
    [
        (matching.Side, "Side"),
        (matching.OrderType, "OrderType"),
        (matching.TimeInForce, "TimeInForce"),
        (matching.SelfTradePrevention, "SelfTradePrevention"),
        (matching.TradingPhase, "TradingPhase"),
        (matching.RejectReason, "RejectReason"),
        (matching.CancelReason, "CancelReason"),
    ],
)
def test_engine_enums_match_the_contract(engine_enum: type[IntEnum], proto_name: str) -> None:
    """Gateways convert with ``Enum(value)``: every number must mean the same."""
    descriptor = common_pb2.DESCRIPTOR.enum_types_by_name[proto_name]
    prefix = _prefix(descriptor)
    proto_values = {
        value.name.removeprefix(prefix): value.number
        for value in descriptor.values
        if value.number != 0
    }
    engine_values = {member.name: member.value for member in engine_enum}
    assert engine_values == proto_values
    assert descriptor.values_by_number[0].name == prefix + "UNSPECIFIED"


def test_every_rpc_declares_its_access_rule() -> None:
    for file in FILES:
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                assert options.HasExtension(options_pb2.access), method.full_name
                rule = options.Extensions[options_pb2.access]
                assert rule.public or len(rule.roles) > 0, method.full_name


def test_every_unary_rpc_has_an_http_rule() -> None:
    for file in FILES:
        for service in file.services_by_name.values():
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    continue
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                assert rule.WhichOneof("pattern") is not None, method.full_name


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("stocktraderx.v1.OrderService.PlaceOrder", "post", "/orders"),
        ("stocktraderx.v1.OrderService.CancelOrder", "delete", "/orders/{order_id}"),
        ("stocktraderx.v1.MarketDataService.GetQuote", "get", "/market-data/{symbol}"),
        ("stocktraderx.v1.MarketDataService.GetBars", "get", "/market-data/historical"),
        ("stocktraderx.v1.UserService.Register", "post", "/users/register"),
        ("stocktraderx.v1.UserService.Login", "post", "/users/login"),
        ("stocktraderx.v1.RiskService.GetRisk", "get", "/risk/{user_id}"),
        ("stocktraderx.v1.RiskService.CreateAlert", "post", "/risk/alerts"),
    ],
)
def test_the_published_endpoints_exist(method: str, verb: str, path: str) -> None:
    service_name, _, method_name = method.rpartition(".")
    for file in FILES:
        service = file.services_by_name.get(service_name.rpartition(".")[2])
        if service is not None and service.full_name == service_name:
            rule = (
                service.methods_by_name[method_name].GetOptions().Extensions[annotations_pb2.http]
            )
            assert rule.WhichOneof("pattern") == verb
            assert getattr(rule, verb) == path
            return
    pytest.fail(f"{method} is not in the contract")


def test_prices_are_fixed_point_integers_never_floats() -> None:
    floats = []
    for file in [*FILES, common_pb2.DESCRIPTOR]:
        for message in file.message_types_by_name.values():
            for field in message.fields:
                if field.type in (field.TYPE_FLOAT, field.TYPE_DOUBLE):
                    floats.append(f"{message.full_name}.{field.name}")
    assert floats == []
