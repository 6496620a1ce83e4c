"""The comments of the .proto files reach the OpenAPI document (issue 16,
item 9): Swagger UI shows what each operation does and what each schema,
property, parameter and enum value means, not bare paths."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2

from server.gateways.rest import openapi
from server.gateways.rest.comments import clean, comments_of, first_sentence


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for verbs in document["paths"].values() for operation in verbs.values()]


def test_every_operation_schema_property_and_parameter_is_described() -> None:
    document = openapi.document()
    operations = _operations(document)
    assert len(operations) >= 36
    assert [op["operationId"] for op in operations if not op.get("summary")] == []
    assert [op["operationId"] for op in operations if not op.get("description")] == []
    schemas = document["components"]["schemas"]
    assert len(schemas) >= 74
    assert [name for name, schema in schemas.items() if not schema.get("description")] == []
    assert [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, property_ in schema["properties"].items()
        if not property_.get("description")
    ] == []
    assert [
        f"{op['operationId']}({parameter['name']})"
        for op in operations
        for parameter in op["parameters"]
        if not parameter.get("description")
    ] == []
    assert all(tag.get("description") for tag in document["tags"])


def test_place_order_reads_as_its_comments() -> None:
    document = openapi.document()
    place = document["paths"]["/orders"]["post"]
    assert place["summary"] == "Enters a new order."
    assert place["description"] == (
        "Enters a new order. Returns once the engine has processed it: the order\n"
        "may already be filled, or canceled (IOC, FOK, market)."
    )
    request = document["components"]["schemas"]["stocktraderx.v1.PlaceOrderRequest"]
    assert request["description"] == "Enter a new order."
    assert request["properties"]["side"] == {
        "type": "string",
        "enum": ["SIDE_UNSPECIFIED", "SIDE_BUY", "SIDE_SELL"],
        "description": "Buy or sell.\n\n"
        "- `SIDE_UNSPECIFIED`: No side; on a trade it means there was no aggressor "
        "(an auction print).\n"
        "- `SIDE_BUY`: Buy: bid for the instrument.\n"
        "- `SIDE_SELL`: Sell: offer the instrument (a short sale if the account holds "
        "too little).",
    }
    assert request["properties"]["price"]["description"] == (
        "The limit price: required for LIMIT and STOP_LIMIT, 0 otherwise. A\n"
        "multiple of the instrument's tick size.\n\n"
        "A decimal string with up to 4 decimal places."
    )
    response = document["components"]["schemas"]["stocktraderx.v1.PlaceOrderResponse"]
    # A described reference: OpenAPI 3.0 ignores a description beside $ref.
    assert set(response["properties"]["order"]) == {"description", "allOf"}
    assert response["properties"]["order"]["allOf"] == [
        {"$ref": "#/components/schemas/stocktraderx.v1.Order"}
    ]


def test_the_error_schema_tells_where_the_reasons_are() -> None:
    status = openapi.document()["components"]["schemas"]["google.rpc.Status"]
    assert "stocktraderx.io" in status["description"]
    assert "RejectReason" in status["description"]


def test_multi_line_descriptions_are_yaml_block_scalars() -> None:
    text = openapi.render()
    assert "      description: |-\n        Enters a new order. Returns once the engine" in text


def test_first_sentence() -> None:
    assert first_sentence("Lists orders, newest\nfirst. Then more.\n\nAnother.") == (
        "Lists orders, newest first."
    )
    assert first_sentence("No full stop here\n\nLater.") == "No full stop here"
    assert first_sentence("Costs $1.50 each. More.") == "Costs $1.50 each."


def test_clean_keeps_indentation_inside_a_comment() -> None:
    assert clean(" Reasons:\n\n   ONE (X): the first.\n") == "Reasons:\n\n  ONE (X): the first."


def test_comments_of_nested_messages_and_enums() -> None:
    """Paths of nested elements (the contract has none yet) name them right."""
    file = descriptor_pb2.FileDescriptorProto(name="x.proto", package="p")
    outer = file.message_type.add(name="Outer")
    outer.field.add(name="a")
    inner = outer.nested_type.add(name="Inner")
    inner.field.add(name="b")
    kind = outer.enum_type.add(name="Kind")
    kind.value.add(name="KIND_ONE")
    service = file.service.add(name="S")
    service.method.add(name="M")
    locations = {
        (4, 0): " Outer.",
        (4, 0, 2, 0): " Field a.",
        (4, 0, 3, 0): " Inner.",
        (4, 0, 3, 0, 2, 0): " Field b.",
        (4, 0, 4, 0): " Kind.",
        (4, 0, 4, 0, 2, 0): " One.",
        (6, 0): " Service.",
        (6, 0, 2, 0): " Method.",
    }
    for path, text in locations.items():
        file.source_code_info.location.add(path=path, leading_comments=text)
    file.source_code_info.location.add(path=(4, 0, 2), trailing_comments=" not an element")
    found = comments_of(descriptor_pb2.FileDescriptorSet(file=[file]))
    assert found == {
        "p.Outer": "Outer.",
        "p.Outer.a": "Field a.",
        "p.Outer.Inner": "Inner.",
        "p.Outer.Inner.b": "Field b.",
        "p.Outer.Kind": "Kind.",
        "p.Outer.Kind.KIND_ONE": "One.",
        "p.S": "Service.",
        "p.S.M": "Method.",
    }
