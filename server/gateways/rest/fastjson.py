"""Converters between messages and JSON, compiled once per message type.

``json_format.MessageToDict``/``ParseDict`` interpret the descriptors anew
for every field of every request, in pure Python; with the decimal walk on
top they were the largest share of the bridge's own work. The converters
here are worked out from the same descriptors once per type (still driven
by the contract: nothing is written per endpoint) and do only what the
value needs.

They cover the JSON the contract's messages produce and the well-formed
requests clients send. Anything else raises ``Fallback`` and the caller
converts with the exact path of ``jsonmap``: json_format plus the decimal
walk. So the answers, the refusals and their messages stay exactly those of
json_format; ``tests/server/gateways/rest/test_fastjson.py`` checks the two agree.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from stocktraderx.v1 import options_pb2

Converter = Callable[[Any], Any]
_F = FieldDescriptor
_RANGES = {
    _F.TYPE_INT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _F.TYPE_UINT32: (0, 2**32 - 1),
    _F.TYPE_FIXED32: (0, 2**32 - 1),
    _F.TYPE_INT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _F.TYPE_UINT64: (0, 2**64 - 1),
    _F.TYPE_FIXED64: (0, 2**64 - 1),
}
_QUOTED = {_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64, _F.TYPE_UINT64, _F.TYPE_FIXED64}
"""proto3 JSON writes these as strings."""
_TEXT_METHODS = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
}
"""Well-known types json_format converts with ``ToJsonString``/``FromJsonString``."""
_INTEGER = re.compile(r"-?[0-9]+")
DECIMAL = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
"""The one grammar of decimal strings (prices, money) the bridge reads."""
_UNPAIRED_SURROGATE = re.compile(
    "[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]"
)
"""json_format refuses strings with these."""


class Fallback(Exception):  # noqa: N818 - a signal, not an error
    """This value is not one the compiled path handles: use the exact path."""


def places(field: FieldDescriptor) -> int:
    """The field's ``decimal_places`` option (0: not a decimal)."""
    options = field.GetOptions()
    if options.HasExtension(options_pb2.decimal_places):
        return int(options.Extensions[options_pb2.decimal_places])
    return 0


def _has_custom_enum_names() -> bool:
    # json_format honours the 'pb.enumvalue.json' option when its extension is
    # loaded; enum names are then not simply the values' names.
    try:
        descriptor_pool.Default().FindExtensionByName("pb.enumvalue.json")
    except KeyError:
        return False
    return True


def decimal_text(units: int, scale: int) -> str:
    """``units`` of 10**-scale as the decimal string the bridge has always
    written: ``str(Decimal(units).scaleb(-scale))``, without the Decimal."""
    if scale > 6:  # Decimal may choose exponent notation from here on
        return str(Decimal(units).scaleb(-scale))
    if scale == 0:
        return str(units)
    digits = str(-units if units < 0 else units).rjust(scale + 1, "0")
    sign = "-" if units < 0 else ""
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"


def _fail(value: Any) -> Any:
    raise Fallback


# -- messages to JSON --------------------------------------------------------

_PRINTERS: dict[str, Callable[[Any], dict[str, Any]]] = {}


def printer(descriptor: Any) -> Callable[[Any], dict[str, Any]]:
    """message -> its JSON object, for messages of ``descriptor``'s type."""
    found = _PRINTERS.get(descriptor.full_name)
    if found is None:
        found = _PRINTERS[descriptor.full_name] = _compile_printer(descriptor)
    return found


def _compile_printer(descriptor: Any) -> Callable[[Any], dict[str, Any]]:
    if descriptor.full_name.startswith("google.protobuf."):
        return _fail  # a well-known type has its own JSON form, not an object of fields
    table: dict[FieldDescriptor, tuple[str, Converter, bool]] = {
        field: (field.name, _value_printer(field), field.is_repeated) for field in descriptor.fields
    }

    def print_message(message: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for field, value in message.ListFields():
            entry = table.get(field)
            if entry is None:  # an extension
                raise Fallback
            name, convert, repeated = entry
            result[name] = [convert(item) for item in value] if repeated else convert(value)
        return result

    return print_message


def _value_printer(field: FieldDescriptor) -> Converter:
    kind = field.type
    if field.message_type is not None:
        message = field.message_type
        if message.GetOptions().map_entry:
            return _fail
        if message.full_name == "google.protobuf.Timestamp":
            return _timestamp_text
        if message.full_name in _TEXT_METHODS:
            return _to_text
        if message.full_name.startswith("google.protobuf."):
            return _fail  # Any, Struct, wrappers: their own JSON forms
        return _nested_printer(message)
    scale = places(field)
    if scale and kind in _RANGES:
        return lambda value: decimal_text(value, scale)
    if kind in _QUOTED:
        return str
    if kind in _RANGES or kind in (_F.TYPE_BOOL, _F.TYPE_STRING):
        return _same
    if kind == _F.TYPE_BYTES:
        return lambda value: base64.b64encode(value).decode("utf-8")
    if kind == _F.TYPE_ENUM and not _has_custom_enum_names():
        return _enum_printer(field)
    return _fail  # floating point: NaN and infinities have their own forms


def _nested_printer(message: Any) -> Converter:
    # Looked up at the first value, not now: a type may contain itself.
    def convert(value: Any) -> Any:
        return printer(message)(value)

    return convert


def _same(value: Any) -> Any:
    return value


def _to_text(value: Any) -> Any:
    return value.ToJsonString()


_EPOCH = datetime(1970, 1, 1)
_SECONDS = (-62135596800, 253402300799)
"""The range of seconds ``Timestamp.ToJsonString`` accepts."""
_DATE_TIMES: dict[int, str] = {}
"""Seconds -> their date and time: a response's timestamps are mostly the
same second, and formatting one took a third of printing a whole order."""


def _timestamp_text(value: Any) -> str:
    """``Timestamp.ToJsonString``, with the date and time remembered."""
    seconds, nanos = value.seconds, value.nanos
    prefix = _DATE_TIMES.get(seconds)
    if prefix is None or not 0 <= nanos < 1_000_000_000:
        if not _SECONDS[0] <= seconds <= _SECONDS[1] or not 0 <= nanos < 1_000_000_000:
            return str(value.ToJsonString())  # which refuses it as json_format would
        if len(_DATE_TIMES) >= 4096:
            _DATE_TIMES.clear()
        prefix = _DATE_TIMES[seconds] = (_EPOCH + timedelta(seconds=seconds)).isoformat()
    if not nanos:
        return f"{prefix}Z"
    if not nanos % 1_000_000:
        return f"{prefix}.{nanos // 1_000_000:03d}Z"
    if not nanos % 1_000:
        return f"{prefix}.{nanos // 1_000:06d}Z"
    return f"{prefix}.{nanos:09d}Z"


def _enum_printer(field: FieldDescriptor) -> Converter:
    enum: Any = field.enum_type
    if enum.full_name == "google.protobuf.NullValue":
        return _fail
    names = {number: enum.values_by_number[number].name for number in enum.values_by_number}
    closed = enum.is_closed

    def convert(value: int) -> Any:
        name = names.get(value)
        if name is None:
            if closed:
                raise Fallback
            return value
        return name

    return convert


# -- JSON to messages --------------------------------------------------------

_READERS: dict[str, Callable[[Any], dict[str, Any]]] = {}


def reader(descriptor: Any) -> Callable[[Any], dict[str, Any]]:
    """JSON object -> the keyword arguments that build the message."""
    found = _READERS.get(descriptor.full_name)
    if found is None:
        found = _READERS[descriptor.full_name] = _compile_reader(descriptor)
    return found


def _compile_reader(descriptor: Any) -> Callable[[Any], dict[str, Any]]:
    table: dict[str, tuple[str, Converter]] = {}
    converters: dict[str, Converter] = {}
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and len(oneof.fields) > 1:
            converters[field.name] = _fail  # two members given: json_format's refusal
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            # A map is a JSON object: the exact path reads it, and refuses
            # anything else (an empty list once passed here as an empty map).
            converters[field.name] = _fail
        elif field.is_repeated:
            converters[field.name] = _list(_reader(field))
        else:
            converters[field.name] = _reader(field)
        table[field.name] = (field.name, converters[field.name])
    for field in descriptor.fields:  # json_format looks JSON names up first
        table[field.json_name] = (field.name, converters[field.name])

    def read(data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise Fallback
        arguments: dict[str, Any] = {}
        for key, value in data.items():
            entry = table.get(key)
            if entry is None or value is None:
                raise Fallback
            name, convert = entry
            if name in arguments:  # both spellings of one field
                raise Fallback
            arguments[name] = convert(value)
        return arguments

    return read


def _list(convert: Converter) -> Converter:
    def convert_all(value: Any) -> Any:
        if type(value) is not list:
            raise Fallback
        return [convert(item) for item in value]

    return convert_all


def _reader(field: FieldDescriptor) -> Converter:
    kind = field.type
    if field.message_type is not None:
        return _message_reader(field.message_type)
    scale = places(field)
    if kind in _RANGES:
        low, high = _RANGES[kind]
        return _decimal_reader(scale, low, high) if scale else _integer_reader(low, high)
    if kind == _F.TYPE_STRING:
        return _read_string
    if kind == _F.TYPE_BOOL:
        return _read_bool
    if kind == _F.TYPE_ENUM:
        return _enum_reader(field)
    return _fail  # bytes, floating point


def _enum_reader(field: FieldDescriptor) -> Converter:
    enum: Any = field.enum_type
    numbers: dict[str, int] = {value.name: value.number for value in enum.values}

    def convert(value: Any) -> int:
        if type(value) is not str or value not in numbers:
            raise Fallback  # numbers, unknown names: the exact path decides
        return numbers[value]

    return convert


def _message_reader(message: Any) -> Converter:
    if message.GetOptions().map_entry:
        return _fail
    if message.full_name in _TEXT_METHODS:
        cls = message_factory.GetMessageClass(message)

        def from_text(value: Any) -> Any:
            if type(value) is not str:
                raise Fallback
            converted: Any = cls()
            try:
                converted.FromJsonString(value)
            except Exception:  # the exact path words the refusal
                raise Fallback from None
            return converted

        return from_text
    if message.full_name.startswith("google.protobuf."):
        return _fail

    def convert(value: Any) -> Any:  # looked up late, as for printing
        return reader(message)(value)

    return convert


def _integer_reader(low: int, high: int) -> Converter:
    def convert(value: Any) -> int:
        kind = type(value)
        if kind is int:
            number: int = value
        elif kind is str and _INTEGER.fullmatch(value):
            number = int(value)
        else:
            raise Fallback
        if not low <= number <= high:
            raise Fallback
        return number

    return convert


def _decimal_reader(scale: int, low: int, high: int) -> Converter:
    factor = 10**scale

    def convert(value: Any) -> int:
        kind = type(value)
        if kind is int:
            units: int = value * factor
        elif kind is str:
            parts = DECIMAL.fullmatch(value)
            if parts is None:
                raise Fallback
            sign, whole, fraction = parts.groups()
            fraction = fraction or ""
            if len(fraction) > scale:
                raise Fallback
            units = int(whole + fraction.ljust(scale, "0"))
            if sign:
                units = -units
        else:
            raise Fallback
        if not low <= units <= high:
            raise Fallback
        return units

    return convert


def _read_string(value: Any) -> str:
    if type(value) is not str or (not value.isascii() and _UNPAIRED_SURROGATE.search(value)):
        raise Fallback
    return value


def _read_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise Fallback
    return value
