"""The analytics process's report server, on ``analytics.sock``.

DuckDB lets one process hold the store's file, so the process that writes
it answers the reports too: a gRPC server of the contract's
``AnalyticsService`` on a Unix socket in the data directory, which only the
gateway calls (after the access rules and its input checks; requests here
are already valid). Each query runs on a worker thread with a reader of its
own, beside the follower's writes.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from pathlib import Path
from typing import Any

import grpc
from stocktraderx.v1 import analytics_pb2 as pb
from stocktraderx.v1 import analytics_pb2_grpc

from server.consumers.analytics import compliance, latency, reports, venues
from server.consumers.analytics.requests import (
    DEFAULT_FILLS,
    DEFAULT_INTERVAL_SECONDS,
    MAX_FILLS,
    parse_after,
    parse_day,
    parse_event_after,
    socket_path,
)
from server.consumers.analytics.store import AnalyticsStore

Context = grpc.aio.ServicerContext[Any, Any]


def _day(text: str) -> datetime.date:
    day = parse_day(text)
    if day is None:
        raise ValueError(f"the gateway passed a date that is not a day: {text!r}")
    return day


class ReportServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, store: AnalyticsStore, fee_bps: int = 0) -> None:
        self._store = store
        self._fee_bps = fee_bps

    async def GetTradeReport(  # noqa: N802 - the contract's name
        self, request: pb.GetTradeReportRequest, context: Context
    ) -> pb.GetTradeReportResponse:
        size = min(request.page_size or DEFAULT_FILLS, MAX_FILLS)
        after = parse_after(request.page_token) or 0
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: reports.trade_report(
                self._store.reader(), request.account_id, day, request.symbol, size, after
            )
        )

    async def GetProfitAndLoss(  # noqa: N802
        self, request: pb.GetProfitAndLossRequest, context: Context
    ) -> pb.GetProfitAndLossResponse:
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: reports.profit_and_loss(
                self._store.reader(), request.account_id, day, self._fee_bps
            )
        )

    async def GetOrderStatistics(  # noqa: N802
        self, request: pb.GetOrderStatisticsRequest, context: Context
    ) -> pb.GetOrderStatisticsResponse:
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: reports.order_statistics(self._store.reader(), request.account_id, day)
        )

    async def ListOrderEvents(  # noqa: N802
        self, request: pb.ListOrderEventsRequest, context: Context
    ) -> pb.ListOrderEventsResponse:
        size = min(request.page_size or DEFAULT_FILLS, MAX_FILLS)
        after = parse_event_after(request.page_token) or (0, -1)
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: reports.order_events(self._store.reader(), day, request.account_id, size, after)
        )

    async def GetMarketStatistics(  # noqa: N802
        self, request: pb.GetMarketStatisticsRequest, context: Context
    ) -> pb.GetMarketStatisticsResponse:
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: reports.market_statistics(self._store.reader(), day, request.symbol)
        )

    async def ListTransactionReports(  # noqa: N802
        self, request: pb.ListTransactionReportsRequest, context: Context
    ) -> pb.ListTransactionReportsResponse:
        size = min(request.page_size or DEFAULT_FILLS, MAX_FILLS)
        after = parse_event_after(request.page_token) or (0, -1)
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: compliance.transaction_reports(
                self._store.reader(), day, request.account_id, size, after
            )
        )

    async def GetClockSynchronisation(  # noqa: N802
        self, request: pb.GetClockSynchronisationRequest, context: Context
    ) -> pb.GetClockSynchronisationResponse:
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: compliance.clock_synchronisation(self._store.reader(), day)
        )

    async def GetExecutionQuality(  # noqa: N802
        self, request: pb.GetExecutionQualityRequest, context: Context
    ) -> pb.GetExecutionQualityResponse:
        day = _day(request.date)
        return await asyncio.to_thread(
            lambda: compliance.execution_quality(self._store.reader(), day, request.symbol)
        )

    async def GetLatencyPercentiles(  # noqa: N802
        self, request: pb.GetLatencyPercentilesRequest, context: Context
    ) -> pb.GetLatencyPercentilesResponse:
        day = _day(request.date)
        width = request.interval_seconds or DEFAULT_INTERVAL_SECONDS
        return await asyncio.to_thread(
            lambda: latency.latency_percentiles(self._store.reader(), day, width, request.gateway)
        )

    async def GetExecutionVenueSummary(  # noqa: N802
        self, request: pb.GetExecutionVenueSummaryRequest, context: Context
    ) -> pb.GetExecutionVenueSummaryResponse:
        first, last = _day(request.from_date), _day(request.to_date)
        return await asyncio.to_thread(
            lambda: venues.execution_venue_summary(
                self._store.reader(), first, last, request.account_id
            )
        )


async def serve_reports(
    store: AnalyticsStore, directory: Path, fee_bps: int = 0
) -> grpc.aio.Server:
    """The report server on the data directory's socket, started (P&L
    charging ``fee_bps``). A socket left by a process that died is replaced."""
    path = socket_path(directory)
    path.unlink(missing_ok=True)
    server = grpc.aio.server()
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
        ReportServicer(store, fee_bps), server
    )
    server.add_insecure_port(f"unix:{path}")
    await server.start()
    # Like core.sock, owner-only: gRPC binds with the process's umask (0700
    # for a socket), and every file of the data directory is 0600.
    os.chmod(path, 0o600)
    return server
