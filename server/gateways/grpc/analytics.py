"""The gRPC analytics service: access checks here, reports from the
analytics process.

The reports come from the analytical store, which only the analytics process
may open (``server/consumers/analytics/serving.py``); this service checks
who asks (a trader sees only its own accounts, risk officers and
administrators every account) and what (a day, a page), then forwards the
request over the data directory's ``analytics.sock``. While that process is
not running the calls answer ANALYTICS_UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from stocktraderx.v1 import analytics_pb2 as pb
from stocktraderx.v1 import analytics_pb2_grpc

from server.auth.access import current_principal
from server.consumers.analytics.requests import (
    MAX_RANGE_DAYS,
    parse_after,
    parse_day,
    parse_event_after,
    socket_path,
)
from server.errors import abort, analytics_unavailable, forbidden, invalid_argument, status_of_call
from server.gateways.grpc.calls import Context

DAY_SECONDS = 86_400
REPORT_SECONDS = 30.0
"""How long a report may take before the caller is told it timed out."""
Response = TypeVar("Response", bound=Message)


class AnalyticsService(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, directory: Path) -> None:
        self._target = f"unix:{socket_path(directory)}"
        self._stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub | None = None

    def _reports(self) -> analytics_pb2_grpc.AnalyticsServiceAsyncStub:
        # Made at the first call, on the serving loop (a channel belongs to one).
        if self._stub is None:
            channel = grpc.aio.insecure_channel(self._target)
            self._stub = analytics_pb2_grpc.AnalyticsServiceStub(channel)
        return self._stub

    async def GetTradeReport(  # noqa: N802 - the contract's name
        self, request: pb.GetTradeReportRequest, context: Context
    ) -> pb.GetTradeReportResponse:
        await _account(request.account_id, context)
        await _day(request.date, context)
        if request.page_size < 0:
            await abort(context, invalid_argument("page_size", "page_size must not be negative"))
        if parse_after(request.page_token) is None:
            await abort(context, invalid_argument("page_token", "page_token is not one we issued"))
        return await _forward(self._reports().GetTradeReport, request, context)

    async def GetProfitAndLoss(  # noqa: N802
        self, request: pb.GetProfitAndLossRequest, context: Context
    ) -> pb.GetProfitAndLossResponse:
        await _account(request.account_id, context)
        await _day(request.date, context)
        return await _forward(self._reports().GetProfitAndLoss, request, context)

    async def GetOrderStatistics(  # noqa: N802
        self, request: pb.GetOrderStatisticsRequest, context: Context
    ) -> pb.GetOrderStatisticsResponse:
        await _account(request.account_id, context)
        await _day(request.date, context)
        return await _forward(self._reports().GetOrderStatistics, request, context)

    async def ListOrderEvents(  # noqa: N802
        self, request: pb.ListOrderEventsRequest, context: Context
    ) -> pb.ListOrderEventsResponse:
        # Who may call it at all is the access rule's (risk officers and
        # administrators, who see every account).
        await _day(request.date, context)
        if request.page_size < 0:
            await abort(context, invalid_argument("page_size", "page_size must not be negative"))
        if parse_event_after(request.page_token) is None:
            await abort(context, invalid_argument("page_token", "page_token is not one we issued"))
        return await _forward(self._reports().ListOrderEvents, request, context)

    async def GetMarketStatistics(  # noqa: N802
        self, request: pb.GetMarketStatisticsRequest, context: Context
    ) -> pb.GetMarketStatisticsResponse:
        await _day(request.date, context)
        return await _forward(self._reports().GetMarketStatistics, request, context)

    async def ListTransactionReports(  # noqa: N802
        self, request: pb.ListTransactionReportsRequest, context: Context
    ) -> pb.ListTransactionReportsResponse:
        # Risk officers and administrators only (the access rule): every account.
        await _day(request.date, context)
        if request.page_size < 0:
            await abort(context, invalid_argument("page_size", "page_size must not be negative"))
        if parse_event_after(request.page_token) is None:
            await abort(context, invalid_argument("page_token", "page_token is not one we issued"))
        return await _forward(self._reports().ListTransactionReports, request, context)

    async def GetClockSynchronisation(  # noqa: N802
        self, request: pb.GetClockSynchronisationRequest, context: Context
    ) -> pb.GetClockSynchronisationResponse:
        await _day(request.date, context)
        return await _forward(self._reports().GetClockSynchronisation, request, context)

    async def GetExecutionQuality(  # noqa: N802
        self, request: pb.GetExecutionQualityRequest, context: Context
    ) -> pb.GetExecutionQualityResponse:
        await _day(request.date, context)
        return await _forward(self._reports().GetExecutionQuality, request, context)

    async def GetLatencyPercentiles(  # noqa: N802
        self, request: pb.GetLatencyPercentilesRequest, context: Context
    ) -> pb.GetLatencyPercentilesResponse:
        await _day(request.date, context)
        if not 0 <= request.interval_seconds <= DAY_SECONDS:
            await abort(
                context,
                invalid_argument(
                    "interval_seconds", f"interval_seconds must be 0 (300) to {DAY_SECONDS}"
                ),
            )
        return await _forward(self._reports().GetLatencyPercentiles, request, context)

    async def GetExecutionVenueSummary(  # noqa: N802
        self, request: pb.GetExecutionVenueSummaryRequest, context: Context
    ) -> pb.GetExecutionVenueSummaryResponse:
        # Risk officers and administrators only (the access rule): every account.
        await _day(request.from_date, context, "from_date")
        await _day(request.to_date, context, "to_date")
        first, last = parse_day(request.from_date), parse_day(request.to_date)
        assert first is not None  # checked just above
        assert last is not None
        if last < first:
            await abort(context, invalid_argument("to_date", "to_date is before from_date"))
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            await abort(
                context,
                invalid_argument(
                    "to_date", f"to_date is more than {MAX_RANGE_DAYS} days from from_date"
                ),
            )
        return await _forward(self._reports().GetExecutionVenueSummary, request, context)


async def _account(account: str, context: Context) -> None:
    if not account:
        await abort(context, invalid_argument("account_id", "account_id is required"))
    principal = current_principal()
    if principal is not None and not principal.may_use(account):
        await abort(context, forbidden(f"account {account!r} is not one of yours"))


async def _day(text: str, context: Context, field: str = "date") -> None:
    if not text:
        await abort(context, invalid_argument(field, f"{field} is required (YYYY-MM-DD, UTC)"))
    if parse_day(text) is None:
        await abort(context, invalid_argument(field, f"{field} {text!r} is not a day (YYYY-MM-DD)"))


async def _forward(
    call: Callable[..., Awaitable[Response]], request: Message, context: Context
) -> Response:
    try:
        return await call(request, timeout=REPORT_SECONDS)
    except grpc.aio.AioRpcError as failure:
        if failure.code() == grpc.StatusCode.UNAVAILABLE:
            await abort(
                context,
                analytics_unavailable(
                    "the analytics process is not running or not ready; ask again shortly"
                ),
            )
        await abort(context, status_of_call(failure))
