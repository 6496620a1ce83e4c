"""The OpenAPI 3 document of the REST bridge, generated from the contract.

Paths, parameters and bodies come from the same ``google.api.http``
annotations the bridge routes by; schemas from the messages, with the JSON
mapping the bridge uses (proto field names, 64-bit integers as strings,
enums by name, fixed-point prices as decimal strings); bearer security from
each RPC's access rule. ``python -m server.gateways.rest.openapi --write`` refreshes
``docs/openapi.yaml``; ``--check`` (run by ``make lint``) fails when it is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from server.auth.access import rule_for
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


class _Schemas:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

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
        return {
            "type": "object",
            "properties": {field.name: self.field(field) for field in message.fields},
        }

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            return {
                "type": "object",
                "additionalProperties": self.field(entry.fields_by_name["value"]),
            }
        schema = self._single(field)
        return {"type": "array", "items": schema} if field.is_repeated else schema

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        places = _places(field)
        if places:
            return {"type": "string", "format": "decimal", "example": "190.05",
                    "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
                    "description": f"fixed point, up to {places} decimal places"}  # fmt: skip
        if field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        if field.message_type is not None:
            return self.ref(field.message_type)
        return dict(_SCALARS[field.type])


def _parameters(route: Route, schemas: _Schemas) -> list[dict[str, Any]]:
    message = route.method.input_type
    parameters = [
        {"name": name, "in": "path", "required": True,
         "schema": schemas.field(message.fields_by_name[name])}
        for name in route.variables
    ]  # fmt: skip
    if route.body == "*":
        return parameters
    for field in message.fields:
        if field.name in route.variables or field.name == route.body:
            continue
        if field.message_type is not None and field.message_type.full_name not in _WELL_KNOWN:
            continue  # messages cannot travel in a query string
        parameters.append({"name": field.name, "in": "query", "schema": schemas.field(field)})
    return parameters


def document() -> dict[str, Any]:
    schemas = _Schemas()
    status = schemas.ref(_status_descriptor())
    paths: dict[str, Any] = {}
    for route in sorted(routes(), key=lambda item: (item.template, item.http_method)):
        method = route.method
        operation: dict[str, Any] = {
            "operationId": f"{method.containing_service.name}_{method.name}",
            "tags": [method.containing_service.name],
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


def render() -> str:
    text: str = yaml.safe_dump(document(), sort_keys=False, width=100)
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
