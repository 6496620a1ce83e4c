"""The comments of the contract's .proto files, by the full name of what they
describe, for the OpenAPI document.

The generated Python modules hold the descriptors without their comments, so
``protos/generate.py`` also writes a descriptor set with source info
(``stocktraderx/v1/contract.binpb``, committed with the generated code and
checked for drift like it). Its locations name each element by a path of
field numbers of descriptor.proto; this module walks the descriptors beside
those paths and keys each comment by the element's full name: messages
(``stocktraderx.v1.Order``), fields (``stocktraderx.v1.Order.price``),
enums, enum values (``stocktraderx.v1.Side.SIDE_BUY``), services and methods
(``stocktraderx.v1.OrderService.PlaceOrder``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

from google.protobuf import descriptor_pb2

RESOURCE = "contract.binpb"
# Field numbers of descriptor.proto that make up the paths of SourceCodeInfo.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE = 2
_SERVICE_METHOD = 2
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")


def clean(comment: str) -> str:
    """A comment as written, without the space protoc keeps after each
    ``//`` and without blank lines around it (indentation inside it stays)."""
    lines = [line.removeprefix(" ").rstrip() for line in comment.splitlines()]
    return "\n".join(lines).strip("\n")


def first_sentence(comment: str) -> str:
    """The first sentence of a comment's first paragraph (all of that
    paragraph if it has no full stop), on one line."""
    paragraph = " ".join(comment.split("\n\n", 1)[0].split())
    found = _SENTENCE.match(paragraph)
    return found.group(1) if found else paragraph


def _add(
    found: dict[str, str], comments: Mapping[tuple[int, ...], str], path: tuple[int, ...], name: str
) -> None:
    text = comments.get(path, "")
    if text:
        found[name] = text


def _message(
    found: dict[str, str],
    comments: Mapping[tuple[int, ...], str],
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    name: str,
) -> None:
    _add(found, comments, path, name)
    for index, field in enumerate(message.field):
        _add(found, comments, (*path, _MESSAGE_FIELD, index), f"{name}.{field.name}")
    for index, nested in enumerate(message.nested_type):
        _message(found, comments, nested, (*path, _MESSAGE_NESTED, index), f"{name}.{nested.name}")
    for index, enum in enumerate(message.enum_type):
        _enum(found, comments, enum, (*path, _MESSAGE_ENUM, index), f"{name}.{enum.name}")


def _enum(
    found: dict[str, str],
    comments: Mapping[tuple[int, ...], str],
    enum: descriptor_pb2.EnumDescriptorProto,
    path: tuple[int, ...],
    name: str,
) -> None:
    _add(found, comments, path, name)
    for index, value in enumerate(enum.value):
        _add(found, comments, (*path, _ENUM_VALUE, index), f"{name}.{value.name}")


def comments_of(files: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """Every commented element of ``files`` (leading comments, else trailing)."""
    found: dict[str, str] = {}
    for file in files.file:
        comments = {
            tuple(location.path): clean(location.leading_comments or location.trailing_comments)
            for location in file.source_code_info.location
        }
        package = file.package
        for index, message in enumerate(file.message_type):
            name = f"{package}.{message.name}"
            _message(found, comments, message, (_FILE_MESSAGE, index), name)
        for index, enum in enumerate(file.enum_type):
            _enum(found, comments, enum, (_FILE_ENUM, index), f"{package}.{enum.name}")
        for index, service in enumerate(file.service):
            name = f"{package}.{service.name}"
            _add(found, comments, (_FILE_SERVICE, index), name)
            for number, method in enumerate(service.method):
                path = (_FILE_SERVICE, index, _SERVICE_METHOD, number)
                _add(found, comments, path, f"{name}.{method.name}")
    return found


@cache
def contract_comments() -> Mapping[str, str]:
    """The comments of the stocktraderx.v1 contract (read once)."""
    data = resources.files("stocktraderx.v1").joinpath(RESOURCE).read_bytes()
    return MappingProxyType(comments_of(descriptor_pb2.FileDescriptorSet.FromString(data)))
