"""The compiled JSON converters agree with the exact ones, type by type.

``fastjson`` replaces json_format plus the decimal walk on the bridge's hot
path and must not change one byte of what the bridge answers or accepts. For
every message type the routes reach (and google.rpc.Status, whose Any details
take the exact path): random messages print to the same JSON text, and
random JSON objects, half of them well formed and half not, parse to the same
message or are refused with the same words.
"""

from __future__ import annotations

import copy
import functools
import string
from decimal import Decimal
from typing import Any

import orjson
import pytest
from google.protobuf import any_pb2, message_factory, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import error_details_pb2, status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stocktraderx.v1 import orders_pb2

from server.gateways.rest import fastjson
from server.gateways.rest.jsonmap import JsonError, exact_parse, exact_to_json, parse, to_json
from server.gateways.rest.routes import routes

_F = FieldDescriptor
_INTS = {
    _F.TYPE_INT32: (-(2**31), 2**31 - 1),
    _F.TYPE_UINT32: (0, 2**32 - 1),
    _F.TYPE_INT64: (-(2**63), 2**63 - 1),
    _F.TYPE_UINT64: (0, 2**64 - 1),
}
MAX_SECONDS = 253402300799


def _reachable() -> dict[str, Descriptor]:
    found: dict[str, Descriptor] = {}

    def visit(descriptor: Descriptor) -> None:
        if descriptor.full_name in found or descriptor.GetOptions().map_entry:
            return
        found[descriptor.full_name] = descriptor
        for field in descriptor.fields:
            if field.message_type is not None:
                visit(field.message_type)

    for route in routes():
        visit(route.method.input_type)
        visit(route.method.output_type)
    return found


TYPES = _reachable()
OURS = sorted(name for name in TYPES if name.startswith("stocktraderx."))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type in _INTS:
        low, high = _INTS[field.type]
        return st.one_of(st.integers(low, high), st.integers(-1000, 1000).filter(low.__le__))
    if field.type == _F.TYPE_BOOL:
        return st.booleans()
    if field.type == _F.TYPE_STRING:
        return st.one_of(st.text(string.ascii_letters, max_size=8), st.text(max_size=8))
    if field.type == _F.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.integers(0, 40))
    raise AssertionError(f"no strategy for {field.full_name}")


@functools.cache
def _filler(descriptor: Any, depth: int) -> st.SearchStrategy[Any]:
    """Random changes to a fresh message of ``descriptor`` (as setters)."""
    name = descriptor.full_name
    if name == "google.protobuf.Timestamp":
        return st.tuples(
            st.integers(-62135596800, MAX_SECONDS),
            st.sampled_from([0, 5_000_000, 123_000, 7, 999_999_999]),
        ).map(lambda pair: ("seconds_nanos", pair))
    if name == "google.protobuf.FieldMask":
        return st.lists(st.from_regex(r"[a-z]{1,5}(_[a-z]{1,3})?", fullmatch=True), max_size=3).map(
            lambda paths: ("paths", paths)
        )
    options: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                text = st.text(string.ascii_letters, max_size=4)
                options[field.name] = st.dictionaries(text, text, max_size=2)
            elif depth < 3:
                inner = _filler(field.message_type, depth + 1)
                options[field.name] = st.lists(inner, max_size=2) if field.is_repeated else inner
        elif field.is_repeated:
            options[field.name] = st.lists(_scalar(field), max_size=3)
        else:
            options[field.name] = _scalar(field)
    return st.fixed_dictionaries({}, optional=options)


def _fill(message: Any, changes: Any) -> None:
    if isinstance(changes, tuple):
        kind, value = changes
        if kind == "seconds_nanos":
            message.seconds, message.nanos = value
        else:
            message.paths.extend(value)
        return
    descriptor = message.DESCRIPTOR
    for name, value in changes.items():
        field = descriptor.fields_by_name[name]
        target = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target.update(value)
        elif field.message_type is not None and field.is_repeated:
            for item in value:
                _fill(target.add(), item)
        elif field.message_type is not None:
            target.SetInParent()
            _fill(target, value)
        elif field.is_repeated:
            target.extend(value)
        else:
            setattr(message, name, value)


def _message(full_name: str, changes: Any) -> Any:
    message = message_factory.GetMessageClass(TYPES[full_name])()
    _fill(message, changes)
    return message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_messages_print_as_json_format_and_the_walk_print_them(data: st.DataObject) -> None:
    full_name = data.draw(st.sampled_from(OURS))
    message = _message(full_name, data.draw(_filler(TYPES[full_name], 0)))
    assert orjson.dumps(to_json(message)) == orjson.dumps(exact_to_json(message))


def test_well_known_types_print_in_their_own_forms() -> None:
    stamp = timestamp_pb2.Timestamp(seconds=1_764_061_234, nanos=5_000_000)
    assert to_json(stamp) == exact_to_json(stamp) == "2025-11-25T09:00:34.005Z"  # type: ignore[comparison-overlap]


def test_a_status_with_details_prints_exactly() -> None:
    status = status_pb2.Status(code=3, message="bad")
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason="INVALID_QUANTITY", domain="x"))
    status.details.append(detail)
    assert orjson.dumps(to_json(status)) == orjson.dumps(exact_to_json(status))
    assert to_json(status)["details"][0]["@type"].endswith("ErrorInfo")


def _decimal_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,6})?", fullmatch=True),
        st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
        st.sampled_from(["1e3", "+5", ".5", "5.", " 5", "-0", "0.00001", "١٢", "9" * 25]),
    )


def _json_value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    """A JSON value for ``field``: often what a client should send, often not."""
    junk = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=5),
        st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                             max_size=2),
    )  # fmt: skip
    good: st.SearchStrategy[Any]
    if field.message_type is not None:
        name = field.message_type.full_name
        if name == "google.protobuf.Timestamp":
            good = st.sampled_from(
                ["2026-11-25T09:00:00Z", "2026-11-25T09:00:00.5Z", "1970-01-01T00:00:00Z",
                 "2026-11-25T09:00:00+01:00", "2026-13-45T09:00:00Z", "yesterday"]
            )  # fmt: skip
        elif name == "google.protobuf.FieldMask":
            good = st.sampled_from(["a,b", "maxOrderQuantity", "", "a..b"])
        elif field.message_type.GetOptions().map_entry:
            good = st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
        elif depth < 2:
            good = _json_object(field.message_type, depth + 1)
        else:
            good = st.just({})
    elif fastjson.places(field):
        good = st.one_of(_decimal_text(), st.integers(-(10**6), 10**6))
    elif field.type in _INTS:
        low, high = _INTS[field.type]
        good = st.one_of(
            st.integers(low - 2, high + 2).map(str), st.integers(low, high), st.just("1.0")
        )
    elif field.type == _F.TYPE_ENUM:
        assert field.enum_type is not None
        good = st.one_of(
            st.sampled_from([value.name for value in field.enum_type.values]),
            st.sampled_from(["NOPE", "1", "0"]),
        )
    elif field.type == _F.TYPE_BOOL:
        good = st.one_of(st.booleans(), st.sampled_from(["true", "false"]))
    else:
        good = st.one_of(st.text(max_size=6), st.just("\ud800"))
    if field.is_repeated and not (
        field.message_type is not None and field.message_type.GetOptions().map_entry
    ):
        good = st.lists(good, max_size=2)
    return st.one_of(good, good, good, junk)


@functools.cache
def _json_object(descriptor: Any, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    options: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        value = _json_value(field, depth)
        options[field.name] = value
        if field.json_name != field.name:
            options[field.json_name] = value  # both spellings at once, sometimes
    if depth == 0:
        options["not_a_field"] = st.integers()
    return st.fixed_dictionaries({}, optional=options)


def _outcome(convert: Any) -> Any:
    try:
        return ("message", convert().SerializeToString(deterministic=True))
    except JsonError as error:
        return ("refused", str(error))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_json_parses_as_the_walk_and_json_format_parse_it(data: st.DataObject) -> None:
    descriptor = TYPES[data.draw(st.sampled_from(OURS))]
    cls = message_factory.GetMessageClass(descriptor)
    body = data.draw(_json_object(descriptor, 0))
    compiled = _outcome(lambda: parse(copy.deepcopy(body), cls))
    exact = _outcome(lambda: exact_parse(copy.deepcopy(body), cls()))
    assert compiled == exact


def test_every_field_kind_of_the_contract_is_covered_by_these_strategies() -> None:
    kinds = {field.type for descriptor in TYPES.values() for field in descriptor.fields}
    assert kinds <= set(_INTS) | {_F.TYPE_BOOL, _F.TYPE_STRING, _F.TYPE_ENUM, _F.TYPE_MESSAGE}


@pytest.mark.parametrize(
    ("units", "scale"),
    [(0, 4), (1, 4), (-1, 4), (1890500, 4), (-1890500, 4), (2**63 - 1, 4), (-(2**63), 4),
     (5, 0), (-5, 0), (123, 2), (1, 6), (1, 7), (123456789, 9)],
)  # fmt: skip
def test_decimal_text_is_what_decimal_prints(units: int, scale: int) -> None:
    assert fastjson.decimal_text(units, scale) == str(Decimal(units).scaleb(-scale))


def test_json_names_are_the_camel_case_names_the_walk_knows() -> None:
    # The decimal walk accepts camelcase_name, json_format json_name: they must agree.
    for descriptor in TYPES.values():
        for field in descriptor.fields:
            assert field.json_name == field.camelcase_name, field.full_name


PLACE = {
    "account_id": "A", "client_order_id": "c1", "symbol": "AAPL", "side": "SIDE_BUY",
    "order_type": "ORDER_TYPE_LIMIT", "quantity": "100", "price": "189.05",
}  # fmt: skip
TRICKY: list[tuple[str, dict[str, Any]]] = [
    ("PlaceOrderRequest", PLACE),
    ("PlaceOrderRequest", {**PLACE, "clientOrderId": "c2"}),
    ("PlaceOrderRequest", {**PLACE, "price": "189.05000"}),
    ("PlaceOrderRequest", {**PLACE, "price": "189.050001"}),
    ("PlaceOrderRequest", {**PLACE, "price": "1e2"}),
    ("PlaceOrderRequest", {**PLACE, "price": "sNaN"}),
    ("PlaceOrderRequest", {**PLACE, "price": "1e999999999"}),
    ("PlaceOrderRequest", {**PLACE, "price": 5}),
    ("PlaceOrderRequest", {**PLACE, "price": 5.5}),
    ("PlaceOrderRequest", {**PLACE, "quantity": 100}),
    ("PlaceOrderRequest", {**PLACE, "quantity": "1.0"}),
    ("PlaceOrderRequest", {**PLACE, "quantity": "١٢"}),
    ("PlaceOrderRequest", {**PLACE, "quantity": str(2**63)}),
    ("PlaceOrderRequest", {**PLACE, "side": 1}),
    ("PlaceOrderRequest", {**PLACE, "side": "NOPE"}),
    ("PlaceOrderRequest", {**PLACE, "post_only": "true"}),
    ("PlaceOrderRequest", {**PLACE, "symbol": None}),
    ("PlaceOrderRequest", {**PLACE, "expire_time": "2026-11-25T09:00:00.5Z"}),
    ("PlaceOrderRequest", {**PLACE, "expireTime": "2026-11-25T10:00:00+01:00"}),
    ("PlaceOrderRequest", {**PLACE, "expire_time": "tomorrow"}),
    ("UpdateRiskLimitsRequest", {"account_id": "A", "limits": {"max_order_quantity": "5"}}),
    ("UpdateRiskLimitsRequest",
     {"limits": {"max_order_quantity": "5", "maxOrderQuantity": "6"}}),
    ("UpdateRiskLimitsRequest", {"limits": {"max_order_notional": "1000.50"}}),
    ("UpdateRiskLimitsRequest", {"update_mask": "maxOrderQuantity,allowShortSelling"}),
    ("SubscribeMarketDataRequest", {"symbols": ["AAPL"], "channels": ["MARKET_DATA_CHANNEL_L2"]}),
    ("SubscribeMarketDataRequest", {"symbols": "AAPL"}),
    ("GetBarsRequest", {"symbol": "AAPL", "interval": "BAR_INTERVAL_1M",
                        "start_time": "2026-11-25T09:00:00Z"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "body"), TRICKY)
def test_tricky_requests_parse_as_the_exact_path_parses_them(
    name: str, body: dict[str, Any]
) -> None:
    cls = message_factory.GetMessageClass(TYPES[f"stocktraderx.v1.{name}"])
    compiled = _outcome(lambda: parse(copy.deepcopy(body), cls))
    assert compiled == _outcome(lambda: exact_parse(copy.deepcopy(body), cls()))


def test_well_formed_requests_take_the_compiled_path() -> None:
    # What this module exists for: an ordinary order needs no json_format.
    body = {**PLACE, "expire_time": "2026-11-25T09:00:00Z"}
    arguments = fastjson.reader(orders_pb2.PlaceOrderRequest.DESCRIPTOR)(body)
    assert arguments["price"] == 1_890_500
    assert arguments["quantity"] == 100
    assert orders_pb2.PlaceOrderRequest(**arguments).expire_time.seconds > 0


def test_leading_zeros_past_int_s_digit_limit_are_just_zeros() -> None:
    # Found by the rest_json fuzz target: int() refuses strings of more than
    # 4,300 digits, and the walk handed it the zeros too (a 500, not a value).
    price = "0" * 5_000 + "184.00"
    request = {"account_id": "A", "client_order_id": "c1", "symbol": "AAPL", "price": price}
    parsed = parse(request, orders_pb2.PlaceOrderRequest)
    assert to_json(parsed)["price"] == "184.0000"
    with pytest.raises(JsonError, match="out of range"):
        parse({**request, "price": "0" * 5_000 + "1" * 40}, orders_pb2.PlaceOrderRequest)


def test_a_map_given_as_a_list_is_refused_as_the_exact_path_refuses_it() -> None:
    """Found by the property test above: ``{"details": []}`` for a map field
    was read as an empty map; json_format refuses a list there."""
    cls = message_factory.GetMessageClass(TYPES["stocktraderx.v1.AlertEvidence"])
    body: dict[str, Any] = {"details": []}
    compiled = _outcome(lambda: parse(copy.deepcopy(body), cls))
    assert compiled == _outcome(lambda: exact_parse(copy.deepcopy(body), cls()))
    assert compiled[0] == "refused"
