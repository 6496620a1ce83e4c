"""The REST bridge's JSON mapping (``server.gateways.rest.jsonmap``, with the compiled
converters of ``fastjson``): whatever a client sends, ``parse`` builds a
request or refuses it with ``JsonError``, and what it builds prints and
parses back to itself.

The input is a request message type's full name, a newline, and the HTTP
body; the body goes through ``orjson.loads`` first, as in the bridge (a body
that is not JSON is refused there, before the mapping sees it). Only
invariants are checked, not the input rules, which may tighten: no exception
but ``JsonError`` escapes; an accepted message prints (``to_json``), its
print parses to an equal message, and that message prints the same JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from server.gateways.rest.fastjson import places
from server.gateways.rest.jsonmap import JsonError, parse, to_json
from server.gateways.rest.routes import routes

_F = FieldDescriptor
REQUESTS: dict[str, type[Message]] = {
    route.method.input_type.full_name: message_factory.GetMessageClass(route.method.input_type)
    for route in routes()
}
"""Every message type a route reads from a client, by full name."""


def test_one_input(data: bytes) -> None:
    name, separator, body = data.partition(b"\n")
    cls = REQUESTS.get(name.decode("ascii", "replace")) if separator else None
    if cls is None:
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    try:
        message = parse(document, cls)
    except JsonError:
        return
    printed = orjson.dumps(to_json(message))
    again = parse(orjson.loads(printed), cls)
    assert again == message, (message, again)
    assert orjson.dumps(to_json(again)) == printed


def _fill(message: Any, descriptor: Any, depth: int) -> None:
    """Give every field of ``message`` a value of the kind a client sends."""
    for field in descriptor.fields:
        if field.containing_oneof is not None and field.containing_oneof.fields[0] is not field:
            continue  # one member of each oneof
        kind = field.type
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry or depth > 2:
                continue
            full = field.message_type.full_name
            target = getattr(message, field.name)
            item = target.add() if field.is_repeated else target
            if full == "google.protobuf.Timestamp":
                item.seconds, item.nanos = 1_796_612_400, 250_000_000
            elif full == "google.protobuf.FieldMask":
                item.paths.append(field.message_type.fields[0].name)
            elif not full.startswith("google.protobuf."):
                _fill(item, field.message_type, depth + 1)
                if not field.is_repeated:
                    item.SetInParent()
            continue
        value: Any
        if kind == _F.TYPE_STRING:
            value = "AAPL" if "symbol" in field.name else f"{field.name[:6]}-1"
        elif kind == _F.TYPE_BOOL:
            value = True
        elif kind == _F.TYPE_ENUM:
            assert field.enum_type is not None
            value = field.enum_type.values[-1].number
        elif kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE, _F.TYPE_BYTES):
            continue
        else:
            value = 19_005 if places(field) else 100
        if field.is_repeated:
            getattr(message, field.name).append(value)
        else:
            setattr(message, field.name, value)


def seeds() -> Iterator[bytes]:
    """For each request type, every field filled as the bridge itself prints
    it (decimals as "190.05", 64-bit integers as strings); one empty body."""
    yield b"stocktraderx.v1.PlaceOrderRequest\n{}"
    for name, cls in sorted(REQUESTS.items()):
        message = cls()
        _fill(message, cls.DESCRIPTOR, 0)
        yield f"{name}\n".encode() + orjson.dumps(to_json(message))
