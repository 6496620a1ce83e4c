"""Event bus entries from a projected batch (format: docs/events.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from stocktraderx.v1 import orders_pb2

from server.shared.base import BusEntry
from server.store.batch import ProjectionBatch

PRICE_FIELDS = frozenset(("price", "stop_price", "avg_price", "last_price"))
PRICE_PLACES = 4


def _decimal(units: int) -> str:
    return str(Decimal(units).scaleb(-PRICE_PLACES))


def _data(row: dict[str, Any]) -> str:
    return orjson.dumps(
        {key: _decimal(value) if key in PRICE_FIELDS else value for key, value in row.items()}
    ).decode()


def _entries(rows: list[dict[str, Any]], kind: Any) -> list[BusEntry]:
    entries: list[BusEntry] = []
    index = 0
    previous = -1
    for row in rows:
        sequence = row["sequence"]
        index = index + 1 if sequence == previous else 0
        previous = sequence
        entries.append(
            BusEntry(
                f"{sequence}-{index}",
                {"sequence": str(sequence), "type": kind(row), "data": _data(row)},
            )
        )
    return entries


def _exec_type(row: dict[str, Any]) -> str:
    return orders_pb2.ExecType.Name(row["exec_type"]).removeprefix("EXEC_TYPE_")


def bus_entries(batch: ProjectionBatch) -> dict[str, list[BusEntry]]:
    """Each stream's entries for ``batch``, in sequence order."""
    return {
        "orders": _entries(batch.order_events, _exec_type),
        "executions": _entries(batch.executions, lambda _row: "EXECUTION"),
        "trades": _entries(batch.trades, lambda _row: "TRADE"),
    }
