"""The FIX order-entry application: FIX sessions onto the exchange's sequencer.

Each session is bound to accounts (its configuration); an order names one of
them in Account (1) or uses the first. NewOrderSingle, OrderCancelRequest,
OrderCancelReplaceRequest and OrderMassCancelRequest become engine commands
submitted to the sequencer like the gRPC gateway's, with ClOrdID as the
exchange's client order id (a cancel's or replace's ClOrdID is its request
id); OrderStatusRequest is answered from the order registry. Every report of
a session's accounts, whoever caused it, goes out as an ExecutionReport or
OrderCancelReject, in the order the core committed them; reports that come
while the session is not logged on wait in its store (`serve`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from matching import Command, Event, RejectReason
from server.gateways.fix import orders, reports
from server.gateways.fix.admin import new
from server.gateways.fix.message import Message
from server.gateways.fix.session import Session, SessionID
from server.gateways.fix.tags import UNSUPPORTED_MESSAGE_TYPE
from server.gateways.grpc.refusals import core_refusals
from server.journal.codec import Origin
from server.model.registry import Report
from server.model.view import Applied, CoreUnavailableError, CoreView

log = logging.getLogger(__name__)

GATEWAY = "fix"
"""The gateway's name in the audit trail (commands, sign-ins)."""
# OrdRejReason (103) for a ClOrdID the account already used.
DUPLICATE_ORDER = "6"
UNKNOWN_ORDER = "5"


class ExchangeApplication:
    def __init__(self, core: CoreView, accounts: dict[SessionID, tuple[str, ...]]) -> None:
        self._core = core
        self._sequencer = core.sequencer
        self._registry = core.registry
        self._accounts = accounts
        self._followers: dict[str, set[Session]] = {}
        self._in_flight: set[tuple[str, str]] = set()
        # (account, request ClOrdID) -> the OrigClOrdID the request named.
        self._origins: dict[tuple[str, str], str] = {}
        self._refusal_ids = itertools.count(1)
        self._origin: dict[SessionID, Origin] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        core.report_listeners.append(self._publish)

    def bind(self, session: Session, origin: Origin, accounts: tuple[str, ...]) -> None:
        """At sign-in: the accounts this session may use now, and who it is for the
        audit trail of its commands."""
        self._accounts[session.id] = accounts
        self._origin[session.id] = origin
        self.serve(session)

    def serve(self, session: Session) -> None:
        """Send `session` every report of its accounts from now on, logged on or not:
        while it is not, they are numbered and kept in the store, and the
        counterparty gets them at its next Logon by asking for the gap (guaranteed
        delivery, FIX's own way)."""
        for account in self._accounts.get(session.id, ()):
            self._followers.setdefault(account, set()).add(session)

    # -- Application ---------------------------------------------------------

    def on_logon(self, session: Session) -> None:
        return None

    def on_logout(self, session: Session) -> None:
        return None

    def from_app(self, session: Session, message: Message) -> int | None:
        account = self._account(session, message)
        msg_type = message.msg_type
        if msg_type not in ("D", "F", "G", "H", "q"):
            return UNSUPPORTED_MESSAGE_TYPE
        if account is None:
            self._refuse(session, message, "Account is not one of this session's")
        elif msg_type == "D":
            self._new_order(session, message, account)
        elif msg_type in ("F", "G"):
            self._change(session, message, account)
        elif msg_type == "H":
            self._status(session, message, account)
        else:
            command = orders.mass_cancel(message, account, self._sequencer.now())
            if isinstance(command, orders.Refusal):
                self._refuse(session, message, command.text)
            else:
                self._submit(session, message, command, account, None)
        return None

    # -- commands ------------------------------------------------------------

    def _account(self, session: Session, message: Message) -> str | None:
        allowed = self._accounts.get(session.id, ())
        named = message.value(orders.ACCOUNT)
        if named is None:
            return allowed[0] if allowed else None
        return named if named in allowed else None

    def _new_order(self, session: Session, message: Message, account: str) -> None:
        cl_ord_id = message.value(orders.CL_ORD_ID) or ""
        key = (account, cl_ord_id)
        if key in self._in_flight or self._registry.is_duplicate(*key):
            self._refuse(session, message, "ClOrdID already used by this account", DUPLICATE_ORDER)
            return
        command = orders.new_order(message, account, self._sequencer.now())
        if isinstance(command, orders.Refusal):
            self._refuse(session, message, command.text, str(command.reason))
            return
        self._submit(session, message, command, account, key)

    def _change(self, session: Session, message: Message, account: str) -> None:
        cl_ord_id = message.value(orders.CL_ORD_ID) or ""
        original = message.value(orders.ORIG_CL_ORD_ID) or ""
        order_id = self._order_id(account, original)
        if order_id is None:
            self._cancel_reject(session, message, "no such order for this account")
            return
        now = self._sequencer.now()
        command: Command | orders.Refusal
        if message.msg_type == "F":
            command = orders.cancel(account, order_id, now)
        else:
            command = orders.replace(message, account, order_id, now)
        if isinstance(command, orders.Refusal):
            self._cancel_reject(session, message, command.text)
            return
        self._origins[(account, cl_ord_id)] = original
        self._submit(session, message, command, account, None)

    def _order_id(self, account: str, cl_ord_id: str) -> int | None:
        # Any ClOrdID of the order's chain: the registry keeps them (replayed from
        # the journal, so a restart of this process loses none).
        record = self._registry.find(account, cl_ord_id)
        return record.order_id if record is not None else None

    def _submit(
        self,
        session: Session,
        message: Message,
        command: Command,
        account: str,
        key: tuple[str, str] | None,
    ) -> None:
        origin = self._origin.get(session.id) or Origin("", "", GATEWAY)
        client_id = message.value(orders.CL_ORD_ID) or ""
        reported = self._registry.last_report.get(account, 0)
        # No commit per order: the sequencer sends (or commits) what a chunk
        # read from the socket submitted in one go, at the loop's next turn,
        # so a burst of orders costs the core one batch, not one per order.
        applied = self._sequencer.submit(command, client_id, origin)
        if key is not None:
            self._in_flight.add(key)
        settle = self._settle(session, message, applied, key, reported)
        task = asyncio.get_running_loop().create_task(settle)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(
        self,
        session: Session,
        message: Message,
        applied: Applied,
        key: tuple[str, str] | None,
        reported: int,
    ) -> None:
        """Once committed: free the id, and answer what the engine never saw.

        The engine's reports reach the session through ``_publish``. A request
        the core refused itself (a ClOrdID another gateway used first) gets
        its refusal here; so does one that never reached the core or that the
        core turned away unsequenced (sync replication with no standby in
        step), with the core's words: neither was applied. One whose answer
        a lost connection took is settled once the core is back, from the
        account's reports: if none carries its ClOrdID it was never
        sequenced, and the client hears so instead of nothing."""
        try:
            await self._sequencer.durable()
        except CoreUnavailableError:
            log.warning("%s: core unavailable before it answered", session.id)
        finally:
            if key is not None:
                self._in_flight.discard(key)
        if applied.sequence > 0:
            return
        if applied.sequence == 0 and applied.events:
            for report in core_refusals([applied]):
                self._send(session, report)
        elif applied.events:
            self._not_applied(session, message, _refusal_text(applied.events[0]))
        elif applied.sequence == 0:
            self._not_applied(session, message, "core unavailable: the request was not applied")
        else:
            await self._sequencer.available()
            self._settle_lost(session, message, reported)

    def _settle_lost(self, session: Session, message: Message, reported: int) -> None:
        account = self._account(session, message) or ""
        client_id = message.value(orders.CL_ORD_ID) or ""
        since = self._registry.reports_after(account, reported)
        if since is None or message.msg_type == "q":
            # A mass cancel's reports name the orders it cancelled, not its request.
            log.warning("%s: the outcome of %s is not known here; not answered",
                        session.id, client_id)  # fmt: skip
        elif all(client_id not in (report.client_order_id, report.client_request_id)
                 for report in since):  # fmt: skip
            self._not_applied(
                session, message,
                "core unavailable: the connection to it dropped before the request was "
                "sequenced; it was not applied",
            )  # fmt: skip

    def _not_applied(self, session: Session, message: Message, text: str) -> None:
        if message.msg_type in ("F", "G"):
            self._cancel_reject(session, message, text)
        else:
            self._refuse(session, message, text)

    # -- reports -------------------------------------------------------------

    def _publish(self, batch: list[Report]) -> None:
        for report in batch:
            followers = self._followers.get(report.account, ())
            for session in followers:
                self._send(session, report)

    def _send(self, session: Session, report: Report) -> None:
        text = ""
        if report.reject_reason:
            text = RejectReason(report.reject_reason).name
        origin = self._origins.get((report.account, report.client_request_id), "")
        session.send(reports.to_fix(report, session.id.begin_string, text, origin))

    def _status(self, session: Session, message: Message, account: str) -> None:
        cl_ord_id = message.value(orders.CL_ORD_ID) or ""
        record = self._registry.find(account, cl_ord_id)
        if record is None:
            self._refuse(session, message, "no such order for this account", UNKNOWN_ORDER)
            return
        status = reports.status_report(record, session.id.begin_string)
        session.send(status)

    def _refuse(
        self, session: Session, message: Message, text: str, reason: str = reports.OTHER
    ) -> None:
        """A rejected ExecutionReport for a request that never reached the core."""
        answer = new("8")
        account = message.value(orders.ACCOUNT)
        if account:
            answer.set(1, account)
        answer.set(6, "0")
        answer.set(11, message.value(orders.CL_ORD_ID) or "NONE")
        answer.set(14, "0")
        answer.set(17, f"R{next(self._refusal_ids)}")
        if session.id.begin_string < "FIX.4.3":
            answer.set(20, "0")
        answer.set(37, "NONE")
        answer.set(39, "8")
        answer.set(54, message.value(orders.SIDE) or "1")
        answer.set(55, message.value(orders.SYMBOL) or "")
        answer.set(58, text)
        answer.set(103, reason)
        answer.set(150, "8")
        answer.set(151, "0")
        session.send(answer)

    def _cancel_reject(self, session: Session, message: Message, text: str) -> None:
        answer = new("9")
        answer.set(11, message.value(orders.CL_ORD_ID) or "NONE")
        answer.set(37, "NONE")
        answer.set(39, "8")
        answer.set(41, message.value(orders.ORIG_CL_ORD_ID) or "NONE")
        answer.set(58, text)
        answer.set(102, "1")
        answer.set(434, "1" if message.msg_type == "F" else "2")
        session.send(answer)


def _refusal_text(event: Event) -> str:
    """The core's words in the refusal event the link made for an unsequenced command."""
    text = getattr(event, "text", "")
    return text if isinstance(text, str) and text else "the exchange refused the request"
