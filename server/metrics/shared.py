"""Series more than one process records: Redis and store failures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

REDIS_ERRORS = Counter(
    "stx_redis_errors", "Redis commands that failed (connection lost, timeout, error reply)."
)


class StoreErrors(Collector):
    """``stx_store_errors_total`` of a process that reads the store (the
    gateway): every failure of the database, counted by SQLAlchemy's
    ``handle_error`` event, so no call site has to remember to count."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.backend = engine.dialect.name
        self.count = 0
        event.listen(engine.sync_engine, "handle_error", self._failed)

    def _failed(self, _context: Any) -> None:
        self.count += 1

    def collect(self) -> Iterable[Metric]:
        errors = CounterMetricFamily(
            "stx_store_errors", "Store failures, by backend.", labels=["backend"]
        )
        errors.add_metric([self.backend], self.count)
        yield errors
