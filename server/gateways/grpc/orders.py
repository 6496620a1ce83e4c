"""The gRPC order service: unary order entry and queries.

Every command goes through the sequencer and is acknowledged only once the
journal has it (``await durable()``). A refusal by the engine answers with
the status the error table gives its reason; what the engine reported is
also in the account's execution reports. A request refused before the
sequencer (an input rule, a duplicate client order id, an account or order
the caller may not use) gets the error alone: it is in no history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from stocktraderx.v1 import orders_pb2 as pb
from stocktraderx.v1 import orders_pb2_grpc

from matching import (
    CancelOrder,
    CancelReason,
    CancelRejected,
    Command,
    MassCancel,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RejectReason,
    ReplaceOrder,
)
from matching.instrument import BASIS_POINTS
from server.auth.access import current_principal
from server.errors import abort, forbidden, history_behind, invalid_argument, rejection
from server.gateways.grpc import convert
from server.gateways.grpc.calls import (
    Context,
    committed,
    describe,
    origin_of,
    page_size,
    page_token,
)
from server.gateways.grpc.entry_statistics import entry_statistics
from server.gateways.grpc.history import History, HistoryBehind
from server.gateways.grpc.stream import BACKLOG_LIMIT, OrderStreamHandler
from server.gateways.grpc.traced import answered
from server.metrics.entry_history import EntryHistory
from server.metrics.order_entry import UNARY_ACK
from server.model.registry import OrderRecord
from server.model.view import Applied, CoreView
from server.store import Store


class OrderService(orders_pb2_grpc.OrderServiceServicer):
    def __init__(
        self,
        core: CoreView,
        stream_backlog: int = BACKLOG_LIMIT,
        store: Store | None = None,
        entries: EntryHistory | None = None,
    ) -> None:
        self._core = core
        self._entries = entries or EntryHistory()
        """Sampled by the task of the process that serves (``Backing.entries``); read here."""
        self._sequencer = core.sequencer
        self._registry = core.registry
        self._history = History(core.registry, store)
        self._has_store = store is not None
        self._in_flight: set[tuple[str, str]] = set()
        """Client order ids submitted but not yet committed."""
        self._stream = OrderStreamHandler(core, self._in_flight, stream_backlog)

    async def OrderStream(  # noqa: N802 - the contract's name
        self,
        request_iterator: AsyncIterator[pb.OrderStreamRequest],
        context: Context,
    ) -> AsyncIterator[pb.OrderStreamResponse]:
        # An async generator itself: grpc.aio picks the streaming mode by inspection.
        async for response in self._stream.serve(request_iterator, context):
            yield response

    async def _may_use(self, account: str, context: Context) -> None:
        """Refuse an account the caller does not own (when sign-in is required)."""
        principal = current_principal()
        if principal is not None and not principal.may_use(account):
            await abort(context, forbidden(f"account {account!r} is not one of yours"))

    async def _required_account(self, account: str, context: Context) -> str:
        """A named account the caller may use; refused if missing or foreign."""
        try:
            convert.require(account, "account_id")
        except convert.BadRequest as error:
            await abort(context, invalid_argument(error.field, str(error)))
        await self._may_use(account, context)
        return account

    async def _submit(self, command: Command, context: Context, client_id: str = "") -> Applied:
        """Sequence ``command`` with the client's id for it (a new order's
        client order id, a cancel's or replace's client request id)."""
        applied = self._sequencer.submit(command, client_id, origin_of(context))
        await committed(self._sequencer, context, applied)
        answered(applied.sequence)
        return applied

    async def PlaceOrder(  # noqa: N802 - the contract's name
        self,
        request: pb.PlaceOrderRequest,
        context: grpc.aio.ServicerContext[pb.PlaceOrderRequest, pb.PlaceOrderResponse],
    ) -> pb.PlaceOrderResponse:
        with UNARY_ACK.time():  # refusals too: each is an acknowledgement
            return await self._place(request, context)

    async def _place(
        self,
        request: pb.PlaceOrderRequest,
        context: grpc.aio.ServicerContext[pb.PlaceOrderRequest, pb.PlaceOrderResponse],
    ) -> pb.PlaceOrderResponse:
        try:
            command = convert.new_order(request, self._sequencer.now())
        except convert.BadRequest as error:
            await abort(context, invalid_argument(error.field, str(error)))
        await self._may_use(command.account, context)
        key = (command.account, request.client_order_id)
        if key in self._in_flight or self._registry.is_duplicate(*key):
            await abort(
                context,
                rejection(
                    RejectReason.DUPLICATE_CLIENT_ORDER_ID,
                    f"client_order_id {request.client_order_id!r} is already used by "
                    f"account {command.account!r}",
                ),
            )
        self._in_flight.add(key)
        try:
            applied = await self._submit(command, context, request.client_order_id)
        finally:
            self._in_flight.discard(key)
        for event in applied.events:
            if isinstance(event, OrderRejected):
                text = event.text or self._price_rule(event)
                await abort(
                    context, rejection(event.reason, describe(event.reason, "order refused", text))
                )
        order_id = next(e.order_id for e in applied.events if isinstance(e, OrderAccepted))
        reports = self._registry.reports_of(command.account, applied.sequence)
        return pb.PlaceOrderResponse(
            order=convert.order_message(self._registry.orders[order_id]),
            reports=[convert.report_message(report) for report in reports],
        )

    def _price_rule(self, refused: OrderRejected) -> str:
        """The rule a refused price broke, in numbers: the engine names only the
        reason, and "price not on tick" alone sends a client guessing the tick."""
        book = self._core.engine.books.get(refused.symbol)
        if book is None:
            return ""
        instrument = book.instrument
        if refused.reason is RejectReason.PRICE_NOT_ON_TICK:
            return f"the tick size of {refused.symbol} is {_price(instrument.tick_size)}"
        if refused.reason is RejectReason.PRICE_OUTSIDE_BAND:
            reference = book.reference_price
            width = reference * instrument.price_band_bps // BASIS_POINTS
            return (
                f"the band of {refused.symbol} is {_price(reference - width)} to "
                f"{_price(reference + width)} ({instrument.price_band_bps} basis points "
                f"around {_price(reference)})"
            )
        return ""

    async def _owned(self, order_id: int, account: str, context: Context) -> OrderRecord:
        record = self._registry.orders.get(order_id)
        principal = current_principal()
        foreign = (
            principal is not None and record is not None and not principal.may_use(record.account)
        )
        # Another user's order is answered like a missing one: ids leak nothing.
        if record is None or foreign or (account and record.account != account):
            await abort(
                context,
                rejection(RejectReason.UNKNOWN_ORDER, f"no order {order_id} for this account"),
            )
        return record

    async def CancelOrder(  # noqa: N802
        self,
        request: pb.CancelOrderRequest,
        context: grpc.aio.ServicerContext[pb.CancelOrderRequest, pb.CancelOrderResponse],
    ) -> pb.CancelOrderResponse:
        record = await self._owned(request.order_id, request.account_id, context)
        applied = await self._submit(
            CancelOrder(self._sequencer.now(), record.account, record.order_id),
            context,
            request.client_request_id,
        )
        await self._refuse_if_rejected(applied, context)
        return pb.CancelOrderResponse(order=convert.order_message(record))

    async def ReplaceOrder(  # noqa: N802
        self,
        request: pb.ReplaceOrderRequest,
        context: grpc.aio.ServicerContext[pb.ReplaceOrderRequest, pb.ReplaceOrderResponse],
    ) -> pb.ReplaceOrderResponse:
        record = await self._owned(request.order_id, request.account_id, context)
        applied = await self._submit(
            ReplaceOrder(
                self._sequencer.now(),
                record.account,
                record.order_id,
                request.price,
                request.quantity,
                request.stop_price,
            ),
            context,
            request.client_request_id,
        )
        await self._refuse_if_rejected(applied, context)
        return pb.ReplaceOrderResponse(order=convert.order_message(record))

    async def _refuse_if_rejected(self, applied: Applied, context: Context) -> None:
        for event in applied.events:
            if isinstance(event, CancelRejected):
                await abort(
                    context,
                    rejection(
                        event.reason, describe(event.reason, f"order {event.order_id}", event.text)
                    ),
                )

    async def GetOrder(  # noqa: N802
        self,
        request: pb.GetOrderRequest,
        context: grpc.aio.ServicerContext[pb.GetOrderRequest, pb.GetOrderResponse],
    ) -> pb.GetOrderResponse:
        record = await self._history.order(request.order_id)
        principal = current_principal()
        foreign = (
            principal is not None and record is not None and not principal.may_use(record.account)
        )
        if (
            record is None
            or foreign
            or (request.account_id and record.account != request.account_id)
        ):
            await abort(
                context,
                rejection(
                    RejectReason.UNKNOWN_ORDER, f"no order {request.order_id} for this account"
                ),
            )
        return pb.GetOrderResponse(order=convert.order_message(record))

    async def ListOrders(  # noqa: N802
        self,
        request: pb.ListOrdersRequest,
        context: grpc.aio.ServicerContext[pb.ListOrdersRequest, pb.ListOrdersResponse],
    ) -> pb.ListOrdersResponse:
        size = await page_size(request.page_size, context)
        # Newest first: a page token is the id of the last (oldest) order of
        # the page before, and the next page starts below it.
        before = await page_token(request.page_token, context) or None
        account = await self._listed_account(request.account_id, context)
        page, more = await self._history.orders_page(
            account=account,
            symbol=request.symbol,
            open_only=request.open_only,
            client_order_id=request.client_order_id,
            before=before,
            limit=size,
        )
        token = str(page[-1].order_id) if more and page else ""
        return pb.ListOrdersResponse(
            orders=[convert.order_message(record) for record in page], next_page_token=token
        )

    async def _listed_account(self, account: str, context: Context) -> str:
        """The account a listing covers: the caller's own when none is named
        and they own exactly one; every account only for privileged roles."""
        principal = current_principal()
        if principal is None or principal.privileged:
            return account
        if account:
            await self._may_use(account, context)
            return account
        if len(principal.accounts) != 1:
            await abort(
                context, invalid_argument("account_id", "name one of your accounts: account_id")
            )
        (only,) = principal.accounts
        return only

    async def MassCancel(  # noqa: N802
        self,
        request: pb.MassCancelRequest,
        context: grpc.aio.ServicerContext[pb.MassCancelRequest, pb.MassCancelResponse],
    ) -> pb.MassCancelResponse:
        account = await self._required_account(request.account_id, context)
        applied = await self._submit(
            MassCancel(self._sequencer.now(), account, request.symbol, CancelReason.MASS_CANCEL),
            context,
        )
        return pb.MassCancelResponse(
            canceled_order_ids=[
                event.order_id for event in applied.events if isinstance(event, OrderCancelled)
            ]
        )

    async def ListExecutions(  # noqa: N802
        self,
        request: pb.ListExecutionsRequest,
        context: grpc.aio.ServicerContext[pb.ListExecutionsRequest, pb.ListExecutionsResponse],
    ) -> pb.ListExecutionsResponse:
        account = await self._required_account(request.account_id, context)
        size = await page_size(request.page_size, context)
        after = max(
            request.after_report_sequence,
            await page_token(request.page_token, context),
        )
        try:
            matches = await self._history.reports_after(
                account=account,
                after=after,
                symbol=request.symbol,
                order_id=request.order_id,
                limit=size,
            )
        except HistoryBehind as behind:
            await abort(context, history_behind(str(behind), kept=self._has_store))
        page = matches[:size]
        token = str(page[-1].report_sequence) if len(matches) > size else ""
        return pb.ListExecutionsResponse(
            reports=[convert.report_message(report) for report in page], next_page_token=token
        )

    async def GetOrderEntryStatistics(  # noqa: N802
        self,
        request: pb.GetOrderEntryStatisticsRequest,
        context: grpc.aio.ServicerContext[
            pb.GetOrderEntryStatisticsRequest, pb.GetOrderEntryStatisticsResponse
        ],
    ) -> pb.GetOrderEntryStatisticsResponse:
        return entry_statistics(self._entries, request)


def _price(units: int) -> str:
    """A price in the contract's 4 implied decimals, as the REST edge writes it."""
    whole, fraction = divmod(units, 10_000)
    return f"{whole}.{fraction:04d}"
