"""Python clients of the exchange, async and sync, over the generated API.

Both raise ``ExchangeError`` for a refused call, carrying the gRPC status,
the refusal's reason (from the google.rpc ErrorInfo detail every error
carries: a RejectReason name, or another reason listed in the comment of
RejectReason) and the offending field when there is one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, cast

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from stocktraderx.v1 import (
    analytics_pb2,
    analytics_pb2_grpc,
    common_pb2,
    market_data_pb2,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    reference_data_pb2,
    reference_data_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)

from clients.credentials import Credentials
from clients.session import bearer
from clients.transport import ClientTls, aio_channel, channel

DEFAULT_TARGET = "127.0.0.1:50051"


@dataclass
class ExchangeError(Exception):
    code: grpc.StatusCode
    message: str
    reason: str = ""
    field: str = ""

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"{self.message}{where}"


def _translate(error: grpc.RpcError) -> ExchangeError:
    if not isinstance(error, grpc.Call | grpc.aio.AioRpcError):
        return ExchangeError(grpc.StatusCode.UNKNOWN, str(error))
    code = error.code()
    result = ExchangeError(code, error.details() or code.name)
    # The blocking API's errors are grpc.Calls; asyncio's AioRpcError is not
    # one but has the same code, details and trailing metadata, all that
    # from_call reads (taken for UNKNOWN before, every refusal to the async
    # client lost its status and reason).
    status = rpc_status.from_call(cast("grpc.Call", error))
    details: list[any_pb2.Any] = list(status.details) if status is not None else []
    for detail in details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            result.reason = info.reason
        elif detail.Unpack(bad) and bad.field_violations:
            result.field = bad.field_violations[0].field
    return result


def place_request(
    account: str,
    client_order_id: str,
    symbol: str,
    side: str,
    quantity: int,
    price: int = 0,
    time_in_force: str = "day",
    stop_price: int = 0,
    expire_time: datetime | None = None,
) -> orders_pb2.PlaceOrderRequest:
    """A limit order if ``price`` is given, else a market order; with
    ``stop_price``, a stop-limit or a stop order. ``expire_time`` is a GTD
    order's (a time zone aware moment)."""
    if stop_price:
        order_type = common_pb2.ORDER_TYPE_STOP_LIMIT if price else common_pb2.ORDER_TYPE_STOP
    else:
        order_type = common_pb2.ORDER_TYPE_LIMIT if price else common_pb2.ORDER_TYPE_MARKET
    request = orders_pb2.PlaceOrderRequest(
        account_id=account,
        client_order_id=client_order_id,
        symbol=symbol,
        side=common_pb2.Side.Value(f"SIDE_{side.upper()}"),
        order_type=order_type,
        time_in_force=common_pb2.TimeInForce.Value(f"TIME_IN_FORCE_{time_in_force.upper()}"),
        quantity=quantity,
        price=price,
        stop_price=stop_price,
    )
    if expire_time is not None:
        request.expire_time.FromDatetime(expire_time)
    return request


class ExchangeClient:
    """Blocking client: for scripts and the command line.

    Signs its calls with ``token``, or with tokens ``credentials`` (a
    password or an API key) obtain and renew as they expire. Speaks TLS when
    ``tls`` names a CA (``ClientTls.resolve()`` finds the local one), else
    plaintext."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        timeout: float = 10.0,
        token: str | None = None,
        credentials: Credentials | None = None,
        tls: ClientTls | None = None,
    ) -> None:
        self._token = token
        self._credentials = credentials
        self._channel = channel(target, tls)
        self._orders = orders_pb2_grpc.OrderServiceStub(self._channel)
        self._market_data = market_data_pb2_grpc.MarketDataServiceStub(self._channel)
        self._risk = risk_pb2_grpc.RiskServiceStub(self._channel)
        self._analytics = analytics_pb2_grpc.AnalyticsServiceStub(self._channel)
        self.timeout = timeout

    def _options(self) -> dict[str, Any]:
        token = self._token
        if self._credentials is not None:
            token = self._credentials.token(self._channel)
        return {"timeout": self.timeout, "metadata": bearer(token)}

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def place(self, request: orders_pb2.PlaceOrderRequest) -> orders_pb2.PlaceOrderResponse:
        try:
            return self._orders.PlaceOrder(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def depth(self, symbol: str, levels: int = 10) -> market_data_pb2.DepthSnapshot:
        """The top ``levels`` price levels of each side of ``symbol``'s book."""
        request = market_data_pb2.GetDepthRequest(symbol=symbol, depth=levels)
        try:
            return self._market_data.GetDepth(request, **self._options()).depth
        except grpc.RpcError as error:
            raise _translate(error) from None

    def quote(self, symbol: str) -> market_data_pb2.Quote:
        request = market_data_pb2.GetQuoteRequest(symbol=symbol)
        try:
            return self._market_data.GetQuote(request, **self._options()).quote
        except grpc.RpcError as error:
            raise _translate(error) from None

    def cancel(self, order_id: int, account: str = "") -> orders_pb2.Order:
        request = orders_pb2.CancelOrderRequest(order_id=order_id, account_id=account)
        try:
            return self._orders.CancelOrder(request, **self._options()).order
        except grpc.RpcError as error:
            raise _translate(error) from None

    def account(self, account: str) -> risk_pb2.Account:
        """Cash, buying power, positions and profit and loss of ``account``."""
        try:
            request = risk_pb2.GetAccountRequest(account_id=account)
            return self._risk.GetAccount(request, **self._options()).account
        except grpc.RpcError as error:
            raise _translate(error) from None

    def trade_report(
        self, account: str, date: str, symbol: str = ""
    ) -> Iterator[analytics_pb2.GetTradeReportResponse]:
        """The pages of ``account``'s trade report of the UTC day ``date`` (YYYY-MM-DD)."""
        token = ""
        try:
            while True:
                page = self._analytics.GetTradeReport(
                    analytics_pb2.GetTradeReportRequest(
                        account_id=account, date=date, symbol=symbol, page_token=token
                    ),
                    **self._options(),
                )
                yield page
                token = page.next_page_token
                if not token:
                    return
        except grpc.RpcError as error:
            raise _translate(error) from None

    def order_events(
        self, date: str, account: str = ""
    ) -> Iterator[analytics_pb2.ListOrderEventsResponse]:
        """The pages of the order-event trail of the UTC day ``date``."""
        token = ""
        try:
            while True:
                page = self._analytics.ListOrderEvents(
                    analytics_pb2.ListOrderEventsRequest(
                        date=date, account_id=account, page_size=10_000, page_token=token
                    ),
                    **self._options(),
                )
                yield page
                token = page.next_page_token
                if not token:
                    return
        except grpc.RpcError as error:
            raise _translate(error) from None

    def transaction_reports(
        self, date: str, account: str = ""
    ) -> Iterator[analytics_pb2.ListTransactionReportsResponse]:
        """The pages of the RTS 22-style transaction reports of the UTC day ``date``."""
        request = analytics_pb2.ListTransactionReportsRequest(
            date=date, account_id=account, page_size=10_000
        )
        try:
            while True:
                page = self._analytics.ListTransactionReports(request, **self._options())
                yield page
                request.page_token = page.next_page_token
                if not request.page_token:
                    return
        except grpc.RpcError as error:
            raise _translate(error) from None

    def clock_synchronisation(self, date: str) -> analytics_pb2.GetClockSynchronisationResponse:
        """The RTS 25-style clock facts of the UTC day ``date``."""
        request = analytics_pb2.GetClockSynchronisationRequest(date=date)
        try:
            return self._analytics.GetClockSynchronisation(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def execution_quality(
        self, date: str, symbol: str = ""
    ) -> analytics_pb2.GetExecutionQualityResponse:
        """The RTS 27-style execution quality per instrument of the UTC day ``date``."""
        request = analytics_pb2.GetExecutionQualityRequest(date=date, symbol=symbol)
        try:
            return self._analytics.GetExecutionQuality(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def execution_venue_summary(
        self, from_date: str, to_date: str, account: str = ""
    ) -> analytics_pb2.GetExecutionVenueSummaryResponse:
        """The RTS 28-style execution-venue summary of the UTC days
        ``from_date`` to ``to_date`` (included), per account."""
        request = analytics_pb2.GetExecutionVenueSummaryRequest(
            from_date=from_date, to_date=to_date, account_id=account
        )
        try:
            return self._analytics.GetExecutionVenueSummary(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def latency_percentiles(
        self, date: str, interval_seconds: int = 0, gateway: str = ""
    ) -> analytics_pb2.GetLatencyPercentilesResponse:
        """The gateway-to-sequencer latency percentiles of the UTC day ``date``
        per interval (0: five minutes) and for the day."""
        request = analytics_pb2.GetLatencyPercentilesRequest(
            date=date, interval_seconds=interval_seconds, gateway=gateway
        )
        try:
            return self._analytics.GetLatencyPercentiles(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def alerts(self, start: datetime, end: datetime) -> Iterator[risk_pb2.ListAlertsResponse]:
        """The pages of the surveillance alerts raised in [``start``, ``end``), newest first."""
        request = risk_pb2.ListAlertsRequest(page_size=1_000)
        request.start_time.FromDatetime(start)
        request.end_time.FromDatetime(end)
        try:
            while True:
                page = self._risk.ListAlerts(request, **self._options())
                yield page
                request.page_token = page.next_page_token
                if not request.page_token:
                    return
        except grpc.RpcError as error:
            raise _translate(error) from None

    def order_statistics(self, account: str, date: str) -> analytics_pb2.GetOrderStatisticsResponse:
        """Statistics of the orders ``account`` entered on the UTC day ``date``."""
        request = analytics_pb2.GetOrderStatisticsRequest(account_id=account, date=date)
        try:
            return self._analytics.GetOrderStatistics(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def market_statistics(
        self, date: str, symbol: str = ""
    ) -> analytics_pb2.GetMarketStatisticsResponse:
        """Volume, VWAP and price range per symbol of the UTC day ``date``."""
        request = analytics_pb2.GetMarketStatisticsRequest(date=date, symbol=symbol)
        try:
            return self._analytics.GetMarketStatistics(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def profit_and_loss(self, account: str, date: str) -> analytics_pb2.GetProfitAndLossResponse:
        """``account``'s profit and loss statement of the UTC day ``date``."""
        request = analytics_pb2.GetProfitAndLossRequest(account_id=account, date=date)
        try:
            return self._analytics.GetProfitAndLoss(request, **self._options())
        except grpc.RpcError as error:
            raise _translate(error) from None

    def orders(self, account: str = "", open_only: bool = False) -> list[orders_pb2.Order]:
        found: list[orders_pb2.Order] = []
        token = ""
        try:
            while True:
                page = self._orders.ListOrders(
                    orders_pb2.ListOrdersRequest(
                        account_id=account, open_only=open_only, page_size=1000, page_token=token
                    ),
                    **self._options(),
                )
                found.extend(page.orders)
                token = page.next_page_token
                if not token:
                    return found
        except grpc.RpcError as error:
            raise _translate(error) from None


class AsyncExchangeClient:
    """asyncio client: for programs that trade. Signed like ``ExchangeClient``."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        timeout: float = 10.0,
        token: str | None = None,
        credentials: Credentials | None = None,
        tls: ClientTls | None = None,
    ) -> None:
        self._token = token
        self._credentials = credentials
        self._channel = aio_channel(target, tls)
        self._orders = orders_pb2_grpc.OrderServiceStub(self._channel)
        self._reference = reference_data_pb2_grpc.ReferenceDataServiceStub(self._channel)
        self._risk = risk_pb2_grpc.RiskServiceStub(self._channel)
        self._analytics = analytics_pb2_grpc.AnalyticsServiceStub(self._channel)
        self.timeout = timeout

    async def _options(self) -> dict[str, Any]:
        token = self._token
        if self._credentials is not None:
            token = await self._credentials.token_async(self._channel)
        return {"timeout": self.timeout, "metadata": bearer(token)}

    async def instruments(self) -> list[reference_data_pb2.Instrument]:
        try:
            response = await self._reference.ListInstruments(
                reference_data_pb2.ListInstrumentsRequest(page_size=1000), **(await self._options())
            )
        except grpc.RpcError as error:
            raise _translate(error) from None
        return list(response.instruments)

    async def __aenter__(self) -> AsyncExchangeClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close(None)

    async def place(self, request: orders_pb2.PlaceOrderRequest) -> orders_pb2.PlaceOrderResponse:
        try:
            return await self._orders.PlaceOrder(request, **(await self._options()))
        except grpc.RpcError as error:
            raise _translate(error) from None

    async def cancel(self, order_id: int, account: str = "") -> orders_pb2.Order:
        request = orders_pb2.CancelOrderRequest(order_id=order_id, account_id=account)
        try:
            return (await self._orders.CancelOrder(request, **(await self._options()))).order
        except grpc.RpcError as error:
            raise _translate(error) from None

    async def account(self, account: str) -> risk_pb2.Account:
        try:
            request = risk_pb2.GetAccountRequest(account_id=account)
            return (await self._risk.GetAccount(request, **(await self._options()))).account
        except grpc.RpcError as error:
            raise _translate(error) from None

    async def fund(self, account: str, amount: int, reason: str = "") -> risk_pb2.Account:
        """Credit (negative: debit) an account's cash; an administrator's act."""
        request = risk_pb2.FundAccountRequest(account_id=account, amount=amount, reason=reason)
        try:
            return (await self._risk.FundAccount(request, **(await self._options()))).account
        except grpc.RpcError as error:
            raise _translate(error) from None

    async def update_limits(
        self,
        account: str,
        limits: risk_pb2.RiskLimits,
        fields: Sequence[str] = (),
        reason: str = "",
    ) -> risk_pb2.RiskLimits:
        """Change the listed ``fields`` of an account's limits (all when empty)."""
        request = risk_pb2.UpdateRiskLimitsRequest(account_id=account, limits=limits, reason=reason)
        request.update_mask.paths.extend(fields)
        try:
            return (await self._risk.UpdateRiskLimits(request, **(await self._options()))).limits
        except grpc.RpcError as error:
            raise _translate(error) from None

    async def prepare_account(self, account: str, cash: int, reason: str) -> None:
        """Make ``account`` fit for a simulation or a load test: short selling
        allowed, no message-rate or open-order cap, and at least ``cash``."""
        await self.update_limits(
            account,
            risk_pb2.RiskLimits(allow_short_selling=True),
            ("allow_short_selling", "max_messages_per_second", "max_open_orders",
             "max_position_quantity", "max_order_notional"),
            reason,
        )  # fmt: skip
        balance = (await self.account(account)).cash_balance
        if balance < cash:
            await self.fund(account, cash - balance, reason)
