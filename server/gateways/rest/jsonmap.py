"""Messages to and from JSON, the proto3 JSON mapping plus decimal prices.

Field names stay as in the protos (snake_case); JSON input accepts the
lowerCamelCase names too. 64-bit integers are strings, as proto3 JSON has
them, and every field marked ``decimal_places`` (prices, money) is a
decimal string ("190.05"), parsed exactly: a value finer than the field's
places is refused, never rounded.

The exact definition is json_format plus the decimal walk below;
``fastjson`` compiles the same mapping per message type for the common case
and hands everything else (and every refusal) back to it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from server.gateways.rest import fastjson
from server.gateways.rest.fastjson import places as _places


class JsonError(ValueError):
    """The JSON does not describe a valid request; the message says where."""


def _is_message(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and not message.GetOptions().map_entry


_Plan = dict[str, tuple[bool, int, Any]]
"""JSON key -> (repeated, decimal places, message descriptor to descend into)."""
_PLANS: dict[str, _Plan] = {}


def _plan(descriptor: Any) -> _Plan:
    """What ``_walk`` needs of a message type, worked out once per type: reading
    field options on every request was a third of the bridge's JSON cost."""
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:
        plan = {}
        for field in descriptor.fields:
            places = _places(field)
            nested = (
                field.message_type
                if _is_message(field) and field.message_type.full_name.startswith("stocktraderx.")
                else None
            )
            if places or nested is not None:
                entry = (field.is_repeated, places, nested)
                plan[field.name] = plan[field.camelcase_name] = entry
        _PLANS[descriptor.full_name] = plan
    return plan


def _walk(data: Any, descriptor: Any, convert: Any, path: str) -> Any:
    if not isinstance(data, dict):
        return data
    plan = _plan(descriptor)
    if not plan:
        return data
    for key, value in list(data.items()):
        entry = plan.get(key)
        if entry is None:
            continue
        repeated, places, nested = entry
        where = f"{path}{key}"
        if places:
            data[key] = (
                [convert(item, places, where) for item in value]
                if repeated and isinstance(value, list)
                else convert(value, places, where)
            )
        else:
            items = value if repeated and isinstance(value, list) else [value]
            for item in items:
                _walk(item, nested, convert, f"{where}.")
    return data


def _to_decimal(value: Any, places: int, where: str) -> Any:
    units = int(value)
    text = str(Decimal(units).scaleb(-places))
    return text


_LARGEST = 40
"""Digits before the point beyond this cannot be a price: refused before they
are turned into an integer (a million digits would take seconds)."""


def _from_decimal(value: Any, places: int, where: str) -> Any:
    """A decimal string as its integer count of 10**-places, exactly.

    One grammar for every decimal field: an optional '-', ASCII digits, and
    optionally '.' and more ASCII digits; no spaces, no '+', no exponent, no
    other scripts' digits (``Decimal`` took " 184.00 " and Arabic-Indic
    digits as 184.00). Zeros past the field's places are allowed; any other
    digit there is refused, never rounded. JSON integers are whole units."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise JsonError(f'{where}: expected a decimal string such as "190.05"')
    if isinstance(value, int):
        return str(value * 10**places)
    parts = fastjson.DECIMAL.fullmatch(value)
    if parts is None:
        raise JsonError(
            f"{where}: {value[:64]!r} is not a decimal number "
            '(ASCII digits, an optional "-" and ".", such as "190.05")'
        )
    sign, whole, fraction = parts.groups()
    fraction = fraction or ""
    if len(whole.lstrip("0")) > _LARGEST:
        raise JsonError(f"{where}: {value[:64]!r} is out of range")
    if fraction[places:].strip("0"):
        raise JsonError(f"{where}: {value[:64]!r} has more than {places} decimal places")
    # Leading zeros are dropped before int(): it refuses strings past 4,300
    # digits (a ValueError, not a refusal) however small their value.
    units = int((whole.lstrip("0") or "0") + fraction[:places].ljust(places, "0"))
    return str(-units if sign else units)


MAX_DEPTH = 64
"""Arrays and objects a request body may nest: no request of the contract
needs a tenth of it, and 1,000 levels made the exact path recurse until
RecursionError (orjson itself stops at 1,024)."""


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` deep
    (counted without recursion, so any depth is safe to ask about)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def to_json(message: Message) -> dict[str, Any]:
    try:
        return fastjson.printer(message.DESCRIPTOR)(message)
    except fastjson.Fallback:
        return exact_to_json(message)


def exact_to_json(message: Message) -> dict[str, Any]:
    """``to_json`` by its definition: json_format, then the decimal walk."""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    result: dict[str, Any] = _walk(data, message.DESCRIPTOR, _to_decimal, "")
    return result


def parse(data: Any, cls: type[Message]) -> Message:
    """A ``cls`` message from JSON ``data``; ``JsonError`` names what is wrong."""
    try:
        return cls(**fastjson.reader(cls.DESCRIPTOR)(data))
    except (fastjson.Fallback, ValueError, TypeError):
        return exact_parse(data, cls())


def exact_parse(data: Any, message: Message) -> Message:
    """``parse`` by its definition: the decimal walk, then json_format. It
    fills ``message`` and changes ``data`` (decimal strings become units)."""
    if not isinstance(data, dict):
        raise JsonError("the body must be a JSON object")
    _walk(data, message.DESCRIPTOR, _from_decimal, "")
    try:
        json_format.ParseDict(data, message)
    except json_format.ParseError as error:
        raise JsonError(str(error)) from None
    return message


def coerce(descriptor: Any, name: str, text: str) -> Any:
    """A path or query value as the JSON ``parse`` expects: proto3 JSON takes
    numbers and enum names as strings already; only booleans need converting."""
    field = descriptor.fields_by_name.get(name)
    if field is None:
        raise JsonError(f"{name}: no such field")
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text not in ("true", "false"):
            raise JsonError(f"{name}: expected true or false")
        return text == "true"
    return text
