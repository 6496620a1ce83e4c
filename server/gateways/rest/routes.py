"""Routes from the ``google.api.http`` annotations of the contract's services.

A path template such as ``/orders/{order_id}:replace`` becomes a regular
expression whose groups fill request fields; a variable matches one path
segment (``{name=**}`` the rest of the path). ``body`` names the request
field the JSON body fills (``*``: the whole request); fields not bound by
the path or the body come from the query string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from stocktraderx.v1 import (
    admin_pb2,
    analytics_pb2,
    market_data_pb2,
    orders_pb2,
    reference_data_pb2,
    risk_pb2,
    users_pb2,
)

CONTRACT: tuple[FileDescriptor, ...] = (
    orders_pb2.DESCRIPTOR,
    market_data_pb2.DESCRIPTOR,
    reference_data_pb2.DESCRIPTOR,
    users_pb2.DESCRIPTOR,
    risk_pb2.DESCRIPTOR,
    analytics_pb2.DESCRIPTOR,
    admin_pb2.DESCRIPTOR,
)
_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_.]*)(?:=([^}]*))?\}")


@dataclass(frozen=True)
class Route:
    http_method: str
    template: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]
    body: str
    response_body: str
    method: MethodDescriptor

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    variables: list[str] = []
    parts: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name, shape = match.group(1), match.group(2)
        variables.append(name)
        group = name.replace(".", "__")
        parts.append(f"(?P<{group}>.+)" if shape == "**" else f"(?P<{group}>[^/:]+)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z"), tuple(variables)


def routes(files: tuple[FileDescriptor, ...] = CONTRACT) -> list[Route]:
    found: list[Route] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                kind = rule.WhichOneof("pattern")
                if kind is None or kind == "custom":
                    continue
                template = getattr(rule, kind)
                pattern, variables = _compile(template)
                found.append(
                    Route(
                        kind.upper(),
                        template,
                        pattern,
                        variables,
                        rule.body,
                        rule.response_body,
                        method,
                    )
                )
    # Literal paths before templated ones, as grpc-gateway resolves them:
    # /market-data/historical is not a quote of the symbol "historical".
    found.sort(key=lambda route: (len(route.variables), -len(route.template)))
    return found


class Router:
    """Finds a request's route as a scan of ``table`` in order would (first
    match wins), with literal paths looked up rather than scanned. The table
    must list literal paths before templated ones, as ``routes`` does."""

    def __init__(self, table: list[Route]) -> None:
        self._literal: dict[tuple[str, str], Route] = {}
        self._templated: dict[str, list[Route]] = {}
        for route in table:
            if route.variables:
                self._templated.setdefault(route.http_method, []).append(route)
            elif self._templated:
                raise ValueError(f"literal route {route.template} after a templated one")
            else:
                self._literal.setdefault((route.http_method, route.template), route)

    def match(self, http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        route = self._literal.get((http_method, path))
        if route is not None:
            return route, {}
        for route in self._templated.get(http_method, ()):
            found = route.pattern.match(path)
            if found is not None:
                return route, {
                    name: found.group(name.replace(".", "__")) for name in route.variables
                }
        return None


def match(table: list[Route], http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    return Router(table).match(http_method, path)
