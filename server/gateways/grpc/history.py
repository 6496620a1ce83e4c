"""Order and execution queries: the live registry in front of the store.

The registry holds every open order, the most recent finished ones and a
window of each account's reports, always current; the store holds the
whole history but trails by whatever the projector has not written yet.
Queries take each item from the registry when it has it (the fresher copy)
and from the store otherwise, so neither lag nor eviction shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from server.model.registry import RECORD_FIELDS, OrderRecord, OrderRegistry, Report
from server.store import Store
from server.store.batch import REPORT_COLUMNS


class HistoryBehind(Exception):  # noqa: N818 - a condition the caller answers, not a bug
    """The store has not caught up with what the registry no longer holds."""


def record_from_row(row: Row[Any]) -> OrderRecord:
    values = row._mapping
    fields = {
        **values,
        "account": values["account_id"],
        # avg_price is derived from the notional; this one gives back the stored value.
        "notional": values["avg_price"] * values["cum_quantity"],
    }
    return OrderRecord.from_state([fields[name] for name in RECORD_FIELDS])


def report_from_row(row: Row[Any]) -> Report:
    values = row._mapping
    return Report(*(values[column] for column in REPORT_COLUMNS))


class History:
    def __init__(self, registry: OrderRegistry, store: Store | None) -> None:
        self._registry = registry
        self._store = store

    async def order(self, order_id: int) -> OrderRecord | None:
        record = self._registry.orders.get(order_id)
        if record is not None or self._store is None:
            return record
        row = await self._store.order(order_id)
        return None if row is None else record_from_row(row)

    async def orders_page(
        self,
        *,
        account: str,
        symbol: str,
        open_only: bool,
        client_order_id: str,
        before: int | None,
        limit: int,
    ) -> tuple[list[OrderRecord], bool]:
        """Up to ``limit`` orders with ids below ``before`` (from the newest if
        None), newest first, and whether more follow."""

        def wanted(record: OrderRecord) -> bool:
            return (
                (not account or record.account == account)
                and (not symbol or record.symbol == symbol)
                and (not open_only or record.is_open)
                and (not client_order_id or record.client_order_id == client_order_id)
            )

        found = {
            order_id: record
            for order_id, record in self._registry.orders.items()
            if (before is None or order_id < before) and wanted(record)
        }
        store_has_more = False
        if self._store is not None and not open_only:
            # Open orders are all in the registry; only history needs the store.
            rows = await self._store.orders_page(
                account=account,
                symbol=symbol,
                client_order_id=client_order_id,
                before=before,
                limit=limit + 1,
            )
            for row in rows:
                if row.order_id not in found and row.order_id not in self._registry.orders:
                    found[row.order_id] = record_from_row(row)
            if len(rows) > limit:
                # Beyond the store's page the registry alone would answer, out
                # of step with the next page: stop before it.
                store_has_more = True
                cut = rows[limit].order_id
                found = {key: value for key, value in found.items() if key > cut}
        ordered = [found[key] for key in sorted(found, reverse=True)]
        return ordered[:limit], store_has_more or len(ordered) > limit

    async def reports_after(
        self, *, account: str, after: int, symbol: str, order_id: int, limit: int
    ) -> list[Report]:
        """Up to ``limit + 1`` reports of ``account`` numbered above ``after``."""
        live = self._registry.reports_after(account, after)
        if live is not None:
            return [
                report
                for report in live
                if (not symbol or report.symbol == symbol)
                and (not order_id or report.order_id == order_id)
            ][: limit + 1]
        if self._store is None:
            raise HistoryBehind(f"reports after {after} are older than this server keeps")
        rows = await self._store.reports_page(
            account=account, after=after, symbol=symbol, order_id=order_id, limit=limit + 1
        )
        reports = [report_from_row(row) for row in rows]
        log = self._registry.logs.get(account)
        window_start = log[0].report_sequence if log else 0
        newest = reports[-1].report_sequence if reports else after
        if len(reports) <= limit and window_start and newest + 1 < window_start:
            # The store ends before the registry's window begins: history that
            # neither holds yet. Say so instead of answering with a silent gap.
            raise HistoryBehind(
                f"reports {newest + 1} to {window_start - 1} are still being written to the store"
            )
        return reports
