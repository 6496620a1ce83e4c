"""The OpenAPI 3 document of the REST bridge, generated from the contract.

Paths, parameters and bodies come from the same ``google.api.http``
annotations the bridge routes by; schemas from the messages, with the JSON
mapping the bridge uses (proto field names, 64-bit integers as strings,
enums by name, fixed-point prices as decimal strings); bearer security from
each RPC's access rule; summaries and descriptions from the comments of the
.proto files (``comments.py``), so that Swagger UI explains what the contract
does. ``python -m server.gateways.rest.openapi --write`` refreshes
``docs/openapi.yaml``; ``--check`` (run by ``make lint``) fails when it is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from server.auth.access import rule_for
from server.gateways.rest.comments import contract_comments, first_sentence
from server.gateways.rest.fastjson import places as _places
from server.gateways.rest.routes import Route, routes

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "example": "1.5s"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
}


STATUS_DESCRIPTION = """An error (google.rpc.Status): `code` is the gRPC status code, `message` \
says what is wrong in words. `details` holds a google.rpc.ErrorInfo whose `domain` is \
"stocktraderx.io" and whose `reason` names the error: a RejectReason value without its \
`REJECT_REASON_` prefix, or one of the other reasons listed in the comment of RejectReason \
(docs/api.md, "Errors"). When one field is at fault a google.rpc.BadRequest names it."""
OUTSIDE_COMMENTS = {
    "google.rpc.Status": STATUS_DESCRIPTION,
    "google.rpc.Status.code": "The gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, ...).",
    "google.rpc.Status.message": "What is wrong, in English, for people rather than programs.",
    "google.rpc.Status.details": "A google.rpc.ErrorInfo, and a google.rpc.BadRequest when one "
    "field is at fault, each with its `@type`.",
}
"""Descriptions of the messages outside the contract that the document uses."""


def _described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """``schema`` with ``text`` as its description (where OpenAPI 3.0 would
    ignore a description beside a ``$ref``, the reference goes in an allOf)."""
    if not text:
        return schema
    if "$ref" in schema:
        return {"description": text, "allOf": [schema]}
    return {**schema, "description": text}


def _enum_values(enum: EnumDescriptor, comments: Mapping[str, str]) -> str:
    """The values of ``enum`` and what each means, as a Markdown list."""
    lines = []
    for value in enum.values:
        text = " ".join(comments.get(f"{enum.full_name}.{value.name}", "").split())
        lines.append(f"- `{value.name}`" + (f": {text}" if text else ""))
    return "\n".join(lines)


class _Schemas:
    def __init__(self, comments: Mapping[str, str]) -> None:
        self.schemas: dict[str, Any] = {}
        self.comments = comments

    def ref(self, message: Descriptor) -> dict[str, Any]:
        known = _WELL_KNOWN.get(message.full_name)
        if known is not None:
            return dict(known)
        name = message.full_name
        if name not in self.schemas:
            self.schemas[name] = {}  # reserve first: messages may refer to themselves
            self.schemas[name] = self._object(message)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, message: Descriptor) -> dict[str, Any]:
        description = self.comments.get(message.full_name)
        return {
            **({"description": description} if description else {}),
            "type": "object",
            "properties": {field.name: self.field(field) for field in message.fields},
        }

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        """The schema of ``field``, described by its comment."""
        return _described(self.bare_field(field), self.describe(field))

    def describe(self, field: FieldDescriptor) -> str:
        """The field's comment, then how a decimal is written or what each
        value of an enum means."""
        parts = [self.comments.get(field.full_name, "")]
        places = _places(field)
        if places:
            parts.append(f"A decimal string with up to {places} decimal places.")
        if field.enum_type is not None:
            parts.append(_enum_values(field.enum_type, self.comments))
        return "\n\n".join(part for part in parts if part)

    def bare_field(self, field: FieldDescriptor) -> dict[str, Any]:
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            return {
                "type": "object",
                "additionalProperties": self.bare_field(entry.fields_by_name["value"]),
            }
        schema = self._single(field)
        return {"type": "array", "items": schema} if field.is_repeated else schema

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        places = _places(field)
        if places:
            return {"type": "string", "format": "decimal", "example": "190.05",
                    "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}  # fmt: skip
        if field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        if field.message_type is not None:
            return self.ref(field.message_type)
        return dict(_SCALARS[field.type])


def _parameters(route: Route, schemas: _Schemas) -> list[dict[str, Any]]:
    message = route.method.input_type
    parameters = [
        _parameter(schemas, message.fields_by_name[name], "path") for name in route.variables
    ]
    if route.body == "*":
        return parameters
    for field in message.fields:
        if field.name in route.variables or field.name == route.body:
            continue
        if field.message_type is not None and field.message_type.full_name not in _WELL_KNOWN:
            continue  # messages cannot travel in a query string
        parameters.append(_parameter(schemas, field, "query"))
    return parameters


def _parameter(schemas: _Schemas, field: FieldDescriptor, where: str) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": field.name, "in": where}
    if where == "path":
        parameter["required"] = True
    description = schemas.describe(field)
    if description:
        parameter["description"] = description
    parameter["schema"] = schemas.bare_field(field)
    return parameter


def document(comments: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The document; ``comments`` by full name (those of the contract unless
    given)."""
    comments = {**OUTSIDE_COMMENTS, **(contract_comments() if comments is None else comments)}
    schemas = _Schemas(comments)
    status = schemas.ref(_status_descriptor())
    paths: dict[str, Any] = {}
    services: dict[str, str] = {}
    for route in sorted(routes(), key=lambda item: (item.template, item.http_method)):
        method = route.method
        service = method.containing_service
        services[service.name] = comments.get(service.full_name, "")
        comment = comments.get(method.full_name, "")
        operation: dict[str, Any] = {
            "operationId": f"{service.name}_{method.name}",
            "tags": [service.name],
            **({"summary": first_sentence(comment), "description": comment} if comment else {}),
            "parameters": _parameters(route, schemas),
            "responses": {
                "200": {
                    "description": "OK"
                    + (" (newline-delimited JSON, one {\"result\": ...} per message)"
                       if method.server_streaming else ""),
                    "content": {
                        "application/x-ndjson" if method.server_streaming else "application/json": {
                            "schema": schemas.ref(method.output_type)
                        }
                    },
                },
                "default": {
                    "description": "An error: a google.rpc.Status",
                    "content": {"application/json": {"schema": dict(status)}},
                },
            },
        }  # fmt: skip
        if route.body:
            body = (
                schemas.ref(method.input_type)
                if route.body == "*"
                else schemas.field(method.input_type.fields_by_name[route.body])
            )
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        if not rule_for(route.grpc_path).public:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(route.template, {})[route.http_method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "StockTraderX API",
            "version": "v1",
            "description": "The REST bridge of the stocktraderx.v1 gRPC contract. Prices are "
            "decimal strings; 64-bit integers are strings (proto3 JSON).",
        },
        "tags": [
            {"name": name, **({"description": text} if text else {})}
            for name, text in sorted(services.items())
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _status_descriptor() -> Descriptor:
    from google.rpc import status_pb2  # noqa: PLC0415 - only the document needs it

    descriptor: Descriptor = status_pb2.Status.DESCRIPTOR
    return descriptor


class _Dumper(yaml.SafeDumper):
    """Comments of several lines as YAML block scalars, as they read in the
    .proto files."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def render() -> str:
    text: str = yaml.dump(document(), Dumper=_Dumper, sort_keys=False, width=100)
    return text


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {COMMITTED}")
    parser.add_argument("--check", action="store_true", help="fail if it is stale")
    options = parser.parse_args(arguments)
    text = render()
    if options.check:
        if not COMMITTED.exists() or COMMITTED.read_text() != text:
            print(f"{COMMITTED} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if options.write:
        COMMITTED.write_text(text)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
