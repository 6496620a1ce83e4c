"""The bidirectional order stream.

A client sends messages of many commands; each message's commands pass the
sequencer one after another and are committed together. Reports flow back
per account: a stream follows every account it sent a command for or
subscribed to, and receives each committed batch's reports for those
accounts as one message (natural batching, one write instead of one per
report). A subscription with ``after_report_sequence`` first gets every
report after that number, then the live ones, with no gap in between: both
happen in one step of the event loop.

Each stream has a bounded backlog; a client that stops reading and lets it
fill is disconnected with RESOURCE_EXHAUSTED instead of growing the
server's memory. Commands refused before the sequencer (input rules,
duplicate client order ids, accounts and orders the caller may not use) are
reports with report_sequence 0 sent to this stream only and kept in no
history; so is the core's refusal of a client order id that another gateway
process used first (only the core sees both; ``refusals.py``). Refusals by
the engine are numbered reports like any other. If the core goes away
(a gateway process behind the link), the stream ends with UNAVAILABLE and
the client resumes by report sequence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from opentelemetry.trace import Span, Status, StatusCode
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import orders_pb2 as pb

from matching import (
    CancelOrder,
    CancelReason,
    Command,
    MassCancel,
    RejectReason,
    ReplaceOrder,
)
from server.auth.access import current_principal
from server.errors import abort, internal, slow_consumer, unavailable
from server.gateways.grpc import convert
from server.gateways.grpc.calls import origin_of
from server.gateways.grpc.inputs import violation
from server.gateways.grpc.refusals import (
    GatewayRefusal,
    bad_request,
    core_refusals,
    not_yours,
    of_order,
    of_request,
    refusal,
)
from server.gateways.grpc.traced import message_span
from server.journal.codec import Origin
from server.metrics.order_entry import STREAM_ACK, watch_streams
from server.model.registry import Report
from server.model.view import Applied, CoreUnavailableError, CoreView

BACKLOG_LIMIT = 50_000
"""Reports a stream may have queued before the client is cut off."""
HEARTBEAT_SECONDS = 5.0
MAX_COMMANDS_PER_MESSAGE = 10_000
MESSAGES_IN_FLIGHT = 256
"""Messages of one stream entered but not yet committed; beyond it the
stream reads no more until the oldest is."""
_log = logging.getLogger(__name__)


class _Entered:
    """One message's commands as entered, until they are committed."""

    __slots__ = ("commands", "keys", "mark", "received", "refusals", "span")

    def __init__(self, refusals: list[Report]) -> None:
        self.span: Span | None = None
        """Its span when the stream is traced (``traced.message_span``)."""
        self.received = time.perf_counter()
        """When the message arrived: its acknowledgement's latency starts here."""
        self.refusals = refusals
        self.keys: set[tuple[str, str]] = set()
        """Client order ids reserved for this message's commands."""
        self.commands: list[Applied] = []
        """As submitted: the core may still refuse one."""
        self.mark = 0


class _Overflow(Exception):  # noqa: N818 - a signal between tasks, not an error type
    pass


class Session:
    def __init__(self, limit: int, origin: Origin | None = None) -> None:
        self.limit = limit
        self.origin = origin
        self.backlog = 0
        self.queue: asyncio.Queue[list[Report] | None] = asyncio.Queue()
        self.overflowed = False
        self.failed = False
        self.unavailable = False
        self.refused = False
        """Gateway refusals are queued: their texts need copying."""

    def deliver(self, reports: list[Report]) -> None:
        if self.overflowed:
            return
        if reports and type(reports[0]) is GatewayRefusal:
            self.refused = True
        if self.backlog + len(reports) > self.limit:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.backlog += len(reports)
        self.queue.put_nowait(reports)


class ReportFanout:
    """Hands each committed batch's reports to the sessions following them."""

    def __init__(self) -> None:
        self.followers: dict[str, set[Session]] = {}

    def follow(self, account: str, session: Session) -> None:
        self.followers.setdefault(account, set()).add(session)

    def forget(self, session: Session) -> None:
        for sessions in self.followers.values():
            sessions.discard(session)

    def publish(self, reports: list[Report]) -> None:
        grouped: dict[Session, list[Report]] = {}
        followers = self.followers
        for report in reports:
            for session in followers.get(report.account, ()):
                grouped.setdefault(session, []).append(report)
        for session, batch in grouped.items():
            session.deliver(batch)


class OrderStreamHandler:
    def __init__(
        self, core: CoreView, in_flight: set[tuple[str, str]], backlog: int = BACKLOG_LIMIT
    ) -> None:
        self._core = core
        self._backlog = backlog
        self._sequencer = core.sequencer
        self._registry = core.registry
        self._in_flight = in_flight
        self.fanout = ReportFanout()
        core.report_listeners.append(self.fanout.publish)
        self.sessions: set[Session] = set()
        """The open streams' sessions: ``stx_order_streams`` and their backlog."""
        watch_streams(self.sessions)

    async def serve(
        self,
        requests: AsyncIterator[pb.OrderStreamRequest],
        context: grpc.aio.ServicerContext[Any, Any],
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> AsyncIterator[pb.OrderStreamResponse]:
        limit = self._backlog
        session = Session(limit, origin_of(context))
        reader = asyncio.ensure_future(self._read(requests, session))
        self.sessions.add(session)
        try:
            while True:
                try:
                    first = await asyncio.wait_for(session.queue.get(), heartbeat)
                except TimeoutError:
                    yield pb.OrderStreamResponse(heartbeat=self._heartbeat())
                    continue
                if first is None:
                    if session.failed:
                        await abort(context, internal("order stream failed"))
                    if session.unavailable:
                        await abort(
                            context,
                            unavailable(
                                "core unavailable: commands not yet acknowledged may or may not "
                                "have been applied; reconnect and resume with "
                                "after_report_sequence"
                            ),
                        )
                    if session.overflowed:
                        await abort(
                            context,
                            slow_consumer(
                                f"more than {limit} execution reports unread; read faster or "
                                "resume later with after_report_sequence"
                            ),
                        )
                    return
                batch = list(first)
                while not session.queue.empty():
                    more = session.queue.get_nowait()
                    if more is None:
                        session.queue.put_nowait(None)
                        break
                    batch.extend(more)
                session.backlog -= len(batch)
                response = pb.OrderStreamResponse()
                convert.add_reports(response.reports, batch)
                if session.refused:
                    session.refused = False
                    for message, report in zip(response.reports, batch, strict=True):
                        if type(report) is GatewayRefusal:
                            message.text = report.text
                yield response
        finally:
            reader.cancel()
            self.fanout.forget(session)
            self.sessions.discard(session)

    def _heartbeat(self) -> common_pb2.Heartbeat:
        heartbeat = common_pb2.Heartbeat(sequence=self._sequencer.sequence)
        heartbeat.server_time.FromNanoseconds(time.time_ns())
        return heartbeat

    async def _read(self, requests: AsyncIterator[pb.OrderStreamRequest], session: Session) -> None:
        """Enter each message's commands as it arrives; a task of its own
        (``_settle``) waits for their commit. The reader does not wait: across
        processes the commit is a round trip to the core, and a stream that
        waited for each message before reading the next would be held to one
        message per round trip."""
        settling: asyncio.Queue[_Entered | None] = asyncio.Queue(MESSAGES_IN_FLIGHT)
        settler = asyncio.ensure_future(self._settle(settling, session))
        try:
            async for request in requests:
                if settler.done():
                    break  # the core went away, or a bug: the stream is ending
                refusals = self._subscribe(request, session)
                entered = _Entered(refusals)
                origin = session.origin
                traced = message_span(len(request.commands))
                if traced is not None:
                    entered.span, traceparent = traced
                    if traceparent and origin is not None:
                        origin = origin._replace(traceparent=traceparent)
                try:
                    if len(request.commands) > MAX_COMMANDS_PER_MESSAGE:
                        refusals.append(
                            refusal(
                                pb.EXEC_TYPE_REJECTED,
                                0,
                                f"at most {MAX_COMMANDS_PER_MESSAGE} commands per message",
                            )
                        )
                    else:
                        refusals.extend(
                            self._enter(
                                request.commands, session, origin, entered.keys, entered.commands
                            )
                        )
                    self._sequencer.commit_now()
                    entered.mark = self._sequencer.mark()
                except BaseException:
                    self._in_flight.difference_update(entered.keys)
                    raise
                # A full queue holds the reader: at most MESSAGES_IN_FLIGHT
                # messages wait for their commit, then HTTP/2 flow control
                # pushes back on the client.
                await settling.put(entered)
        except asyncio.CancelledError:
            settler.cancel()
            raise
        except Exception:
            # A bug: say so loudly and end this stream with an error, not quietly.
            _log.exception("order stream reader failed")
            session.failed = True
        # The client has finished sending: end the stream once its reports are out.
        if not settler.done():
            await settling.put(None)
        await settler
        # A message put after the settler ended (it was waiting for room when
        # the core went away) must not keep its ids reserved for good.
        self._release(settling)
        session.queue.put_nowait(None)

    async def _settle(self, settling: asyncio.Queue[_Entered | None], session: Session) -> None:
        """Each message in turn, once committed: its ids leave the in-flight set
        (committed ones are now the registry's, the rest were never used) and
        its refusals, the gateway's and the core's, go to the client after the
        message's reports."""
        entered: _Entered | None = None
        try:
            while (entered := await settling.get()) is not None:
                try:
                    await self._sequencer.durable(entered.mark)
                    if any(applied.sequence < 0 for applied in entered.commands):
                        raise CoreUnavailableError("core unavailable before it answered")
                    entered.refusals.extend(core_refusals(entered.commands))
                finally:
                    self._in_flight.difference_update(entered.keys)
                # Its reports are queued for the client now (the commit delivered them).
                STREAM_ACK.observe(time.perf_counter() - entered.received)
                if entered.refusals:
                    session.deliver(entered.refusals)
                if entered.span is not None:
                    entered.span.end()
        except CoreUnavailableError:
            session.unavailable = True
            _failed(entered, "core unavailable")
        except Exception:
            _log.exception("order stream settling failed")
            session.failed = True
            _failed(entered, "order stream settling failed")
        finally:
            # Whatever ended it, no id this stream entered stays reserved.
            self._release(settling)
            if session.unavailable or session.failed:
                session.queue.put_nowait(None)

    def _release(self, settling: asyncio.Queue[_Entered | None]) -> None:
        """Free the ids of messages that will never be settled."""
        while not settling.empty():
            waiting = settling.get_nowait()
            if waiting is not None:
                self._in_flight.difference_update(waiting.keys)
                _failed(waiting, "the stream ended before its commit")

    def _subscribe(self, request: pb.OrderStreamRequest, session: Session) -> list[Report]:
        refusals: list[Report] = []
        for subscription in request.subscriptions:
            account = subscription.account_id
            found = violation(subscription)
            if found is not None:
                refusals.append(refusal(pb.EXEC_TYPE_REJECTED, 0, found.description))
                continue
            if not account:
                refusals.append(
                    refusal(pb.EXEC_TYPE_REJECTED, 0, "subscription without account_id")
                )
                continue
            if not _may_use(account):
                refusals.append(not_yours(subscription))
                continue
            if subscription.HasField("after_report_sequence"):
                missed = self._registry.reports_after(account, subscription.after_report_sequence)
                if missed is None:
                    refusals.append(
                        refusal(
                            pb.EXEC_TYPE_REJECTED,
                            0,
                            "reports that old are no longer kept; use ListExecutions",
                            account=account,
                        )
                    )
                    continue
                if missed:
                    session.deliver(missed)
            self.fanout.follow(account, session)
        return refusals

    def _enter(
        self,
        commands: Any,
        session: Session,
        origin: Origin | None,
        keys: set[tuple[str, str]],
        entered: list[Applied],
    ) -> list[Report]:
        refusals: list[Report] = []
        for command in commands:
            which = command.WhichOneof("command")
            body = getattr(command, which) if which else None
            client_order_id = ""  # a new order's, reserved below
            client_id = ""  # journaled with the command: an order's or a request's
            try:
                found = violation(body) if body is not None else None
                if found is not None:
                    # Checked before anything else: a field that breaks an input
                    # rule is never journaled and reserves nothing.
                    raise convert.BadRequest(found.field, found.description)
                if which == "place":
                    prepared = self._place(command.place)
                    client_order_id = client_id = command.place.client_order_id
                elif which == "cancel":
                    prepared = self._cancel(command.cancel)
                    client_id = command.cancel.client_request_id
                elif which == "replace":
                    prepared = self._replace(command.replace)
                    client_id = command.replace.client_request_id
                elif which == "mass_cancel":
                    named = convert.require(command.mass_cancel.account_id, "account_id")
                    prepared = MassCancel(
                        self._sequencer.now(), named, command.mass_cancel.symbol,
                        CancelReason.MASS_CANCEL,
                    )  # fmt: skip
                else:
                    raise convert.BadRequest("command", "empty command")
            except _Refused as refused:
                refusals.append(refused.report)
                continue
            except convert.BadRequest as error:
                refusals.append(bad_request(which, body, error))
                continue
            account = prepared.account  # type: ignore[union-attr]
            if not _may_use(account):
                refusals.append(not_yours(body))
                continue
            self.fanout.follow(account, session)
            entered.append(self._sequencer.submit(prepared, client_id, origin))
            if client_order_id:
                # Reserved once submitted (no await in between), so a command
                # the sequencer did not take leaves its id free.
                key = (account, client_order_id)
                self._in_flight.add(key)
                keys.add(key)
        return refusals

    def _place(self, request: pb.PlaceOrderRequest) -> Command:
        command = convert.new_order(request, self._sequencer.now())
        key = (command.account, request.client_order_id)
        if key in self._in_flight or self._registry.is_duplicate(*key):
            raise _Refused(
                of_order(
                    command,
                    request.client_order_id,
                    RejectReason.DUPLICATE_CLIENT_ORDER_ID,
                    "client_order_id is already used by this account",
                )
            )
        return command

    def _owned_account(
        self, request: pb.CancelOrderRequest | pb.ReplaceOrderRequest, exec_type: int
    ) -> str:
        record = self._registry.orders.get(request.order_id)
        if (
            record is None
            or (request.account_id and record.account != request.account_id)
            or not _may_use(record.account)
        ):
            raise _Refused(
                of_request(
                    exec_type,
                    RejectReason.UNKNOWN_ORDER,
                    "no such order for this account",
                    request,
                )
            )
        return record.account

    def _cancel(self, request: pb.CancelOrderRequest) -> Command:
        account = self._owned_account(request, pb.EXEC_TYPE_CANCEL_REJECTED)
        return CancelOrder(self._sequencer.now(), account, request.order_id)

    def _replace(self, request: pb.ReplaceOrderRequest) -> Command:
        account = self._owned_account(request, pb.EXEC_TYPE_REPLACE_REJECTED)
        return ReplaceOrder(
            self._sequencer.now(), account, request.order_id, request.price, request.quantity,
            request.stop_price,
        )  # fmt: skip


def _failed(entered: _Entered | None, why: str) -> None:
    """End the span of a message whose outcome is unknown as an error."""
    if entered is not None and entered.span is not None:
        entered.span.set_status(Status(StatusCode.ERROR, why))
        entered.span.end()


def _may_use(account: str) -> bool:
    principal = current_principal()
    return principal is None or principal.may_use(account)


class _Refused(Exception):  # noqa: N818 - carries a refusal report out of a helper
    def __init__(self, report: Report) -> None:
        super().__init__(report)
        self.report = report
