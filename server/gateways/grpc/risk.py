"""The gRPC risk service: limits, kill switches, halts, accounts and alerts.

Every change is an engine command through the sequencer (journaled with who
sent it, so the audit log records it); reads come from the engine's ledgers
as of the last command, which is what the next order will be checked
against.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from stocktraderx.v1 import common_pb2, risk_pb2_grpc
from stocktraderx.v1 import risk_pb2 as pb

from matching import (
    Command,
    CommandRejected,
    FundAccount,
    KillSwitchChanged,
    RejectReason,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
    TradingPhase,
)
from server.auth.access import ADMIN, current_principal
from server.auth.directory import UserDirectory
from server.consumers.surveillance.desk import LEFT_BEHIND, SUBSCRIBER_BACKLOG, AlertDesk
from server.errors import (
    abort,
    alert_closed,
    forbidden,
    invalid_argument,
    not_found,
    rejection,
    slow_consumer,
    unknown_alert,
)
from server.gateways.grpc.calls import Context, committed, origin_of, page_size
from server.gateways.grpc.inputs import page_number
from server.gateways.grpc.risk_messages import (
    LIMIT_FIELDS,
    account_message,
    account_risk,
    alert_message,
    limits_message,
    manual_alert,
    matches,
    merged_limits,
    review_message,
)
from server.model.alerts import AlertKind, AlertSeverity, AlertStatus, ReviewRefusal
from server.model.view import Applied, CoreView
from server.store import alert_reviews
from server.store.alert_reviews import Review, Reviewed

HEARTBEAT_SECONDS = 5.0
_KINDS = frozenset(int(kind) for kind in AlertKind)
_SEVERITIES = frozenset(int(severity) for severity in AlertSeverity)
_STATUSES = frozenset(int(status) for status in AlertStatus)
_VERB = {AlertStatus.DISMISSED: "dismiss", AlertStatus.CONFIRMED: "confirm"}
_HALTABLE = (TradingPhase.PRE_OPEN, TradingPhase.CONTINUOUS, TradingPhase.CLOSING_AUCTION)

_log = logging.getLogger(__name__)
"""Operator actions on risk (kill switches, halts) with their targets as
structured fields; rare, so never on the order path."""


class RiskService(risk_pb2_grpc.RiskServiceServicer):
    def __init__(
        self,
        core: CoreView,
        directory: UserDirectory,
        alerts: AlertDesk,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._core = core
        self._sequencer = core.sequencer
        self._directory = directory
        self._alerts = alerts
        self._heartbeat = heartbeat_seconds

    async def _submit(self, command: Command, context: Context) -> Applied:
        applied = self._sequencer.submit(command, "", origin_of(context))
        await committed(self._sequencer, context, applied)
        for event in applied.events:
            if isinstance(event, CommandRejected):
                await abort(context, rejection(event.reason, event.text or event.reason.name))
        return applied

    async def _account(self, account: str, context: Context) -> str:
        """An account the caller may see, known to the exchange (an owner or a ledger)."""
        if not account:
            await abort(context, invalid_argument("account_id", "account_id is required"))
        principal = current_principal()
        if principal is not None and not principal.may_use(account):
            await abort(context, forbidden(f"account {account!r} is not one of yours"))
        return account

    async def _accounts_of_target(
        self, account: str, user: str, reason: str, context: Context
    ) -> tuple[str, ...]:
        if not reason:
            await abort(context, invalid_argument("reason", "reason is required"))
        if account:
            return (account,)
        if not user:
            await abort(context, invalid_argument("target", "account_id or user_id is required"))
        if await self._directory.user(user) is None:
            await abort(context, not_found(f"no user {user!r}"))
        accounts = await self._directory.accounts_of(user)
        if not accounts:
            await abort(context, not_found(f"user {user!r} has no accounts"))
        return accounts

    # -- limits --------------------------------------------------------------

    async def GetRisk(  # noqa: N802 - the contract's name
        self, request: pb.GetRiskRequest, context: Context
    ) -> pb.GetRiskResponse:
        if not request.user_id:
            await abort(context, invalid_argument("user_id", "user_id is required"))
        principal = current_principal()
        if (
            principal is not None
            and not principal.privileged
            and principal.user_id != request.user_id
        ):
            await abort(context, forbidden("only your own risk is visible to you"))
        if await self._directory.user(request.user_id) is None:
            await abort(context, not_found(f"no user {request.user_id!r}"))
        engine = self._core.engine
        now = self._sequencer.now()
        return pb.GetRiskResponse(
            user_id=request.user_id,
            accounts=[
                account_risk(engine, account, engine.risk.accounts.get(account), now)
                for account in await self._directory.accounts_of(request.user_id)
            ],
        )

    async def UpdateRiskLimits(  # noqa: N802
        self, request: pb.UpdateRiskLimitsRequest, context: Context
    ) -> pb.UpdateRiskLimitsResponse:
        account = await self._account(request.account_id, context)
        if not request.HasField("limits"):
            await abort(context, invalid_argument("limits", "limits are required"))
        paths = list(request.update_mask.paths)
        for path in paths:
            if path not in (*LIMIT_FIELDS, "allow_short_selling"):
                await abort(
                    context,
                    invalid_argument("update_mask", f"{path!r} is not a field of RiskLimits"),
                )
        risk = self._core.engine.risk
        ledger = risk.accounts.get(account)
        current = risk.limits_of(ledger) if ledger is not None else risk.default_limits
        limits = merged_limits(current, request.limits, paths)
        problem = limits.validation_error()
        if problem is not None:
            await abort(context, invalid_argument("limits", problem))
        await self._submit(SetRiskLimits(self._sequencer.now(), account, limits), context)
        # The limits now in force, every field, as the contract says: not the
        # request's, which hold only the masked fields.
        ledger = risk.accounts.get(account)
        in_force = risk.limits_of(ledger) if ledger is not None else risk.default_limits
        return pb.UpdateRiskLimitsResponse(account_id=account, limits=limits_message(in_force))

    # -- kill switch and halts -----------------------------------------------

    async def ActivateKillSwitch(  # noqa: N802
        self, request: pb.ActivateKillSwitchRequest, context: Context
    ) -> pb.ActivateKillSwitchResponse:
        accounts = await self._accounts_of_target(
            request.account_id, request.user_id, request.reason, context
        )
        applied = await self._submit(
            SetKillSwitch(self._sequencer.now(), accounts, True, request.reason), context
        )
        cancelled = sum(
            event.cancelled_orders
            for event in applied.events
            if isinstance(event, KillSwitchChanged)
        )
        fields = _target(request.account_id, accounts, request.user_id, request.reason)
        _log.warning(
            "kill switch on for %s: %s (%d orders cancelled)",
            ", ".join(accounts), request.reason, cancelled,
            extra={**fields, "canceled_order_count": cancelled},
        )  # fmt: skip
        return pb.ActivateKillSwitchResponse(account_ids=accounts, canceled_order_count=cancelled)

    async def ResetKillSwitch(  # noqa: N802
        self, request: pb.ResetKillSwitchRequest, context: Context
    ) -> pb.ResetKillSwitchResponse:
        accounts = await self._accounts_of_target(
            request.account_id, request.user_id, request.reason, context
        )
        await self._submit(
            SetKillSwitch(self._sequencer.now(), accounts, False, request.reason), context
        )
        _log.warning(
            "kill switch off for %s: %s", ", ".join(accounts), request.reason,
            extra=_target(request.account_id, accounts, request.user_id, request.reason),
        )  # fmt: skip
        return pb.ResetKillSwitchResponse(account_ids=accounts)

    async def _change_phases(
        self, symbol: str, from_phases: tuple[TradingPhase, ...], to: TradingPhase, context: Context
    ) -> list[str]:
        books = self._core.engine.books
        if symbol:
            book = books.get(symbol)
            if book is None:
                await abort(
                    context, rejection(RejectReason.UNKNOWN_SYMBOL, f"no instrument {symbol!r}")
                )
            if book.phase not in from_phases:
                await abort(
                    context,
                    rejection(
                        RejectReason.INVALID_PHASE_TRANSITION,
                        f"{symbol} is {book.phase.name.lower()}, not "
                        + " or ".join(phase.name.lower() for phase in from_phases),
                    ),
                )
            symbols = [symbol]
        else:
            symbols = sorted(name for name, book in books.items() if book.phase in from_phases)
        # One turn of the loop: the whole market changes between two commands.
        for name in symbols:
            self._sequencer.submit(
                SetTradingPhase(self._sequencer.now(), name, to), "", origin_of(context)
            )
        await committed(self._sequencer, context)
        return symbols

    async def HaltTrading(  # noqa: N802
        self, request: pb.HaltTradingRequest, context: Context
    ) -> pb.HaltTradingResponse:
        if not request.reason:
            await abort(context, invalid_argument("reason", "reason is required"))
        symbols = await self._change_phases(request.symbol, _HALTABLE, TradingPhase.HALTED, context)
        _log.warning(
            "trading halted in %s: %s", ", ".join(symbols) or "no symbol", request.reason,
            extra=_actor(symbol=request.symbol, symbols=symbols, reason=request.reason),
        )  # fmt: skip
        return pb.HaltTradingResponse(symbols=symbols)

    async def ResumeTrading(  # noqa: N802
        self, request: pb.ResumeTradingRequest, context: Context
    ) -> pb.ResumeTradingResponse:
        symbols = await self._change_phases(
            request.symbol, (TradingPhase.HALTED,), TradingPhase.CONTINUOUS, context
        )
        _log.warning(
            "trading resumed in %s", ", ".join(symbols) or "no symbol",
            extra=_actor(symbol=request.symbol, symbols=symbols),
        )  # fmt: skip
        return pb.ResumeTradingResponse(symbols=symbols)

    # -- accounts ------------------------------------------------------------

    async def GetAccount(  # noqa: N802
        self, request: pb.GetAccountRequest, context: Context
    ) -> pb.GetAccountResponse:
        account = await self._account(request.account_id, context)
        engine = self._core.engine
        ledger = engine.risk.accounts.get(account)
        owner = await self._directory.owner_of(account) or ""
        if ledger is None and not owner:
            await abort(context, rejection(RejectReason.UNKNOWN_ACCOUNT, f"no account {account!r}"))
        return pb.GetAccountResponse(account=account_message(engine, account, owner, ledger))

    async def FundAccount(  # noqa: N802
        self, request: pb.FundAccountRequest, context: Context
    ) -> pb.FundAccountResponse:
        account = await self._account(request.account_id, context)
        if not request.amount:
            await abort(context, invalid_argument("amount", "amount must not be zero"))
        await self._submit(FundAccount(self._sequencer.now(), account, request.amount), context)
        engine = self._core.engine
        owner = await self._directory.owner_of(account) or ""
        return pb.FundAccountResponse(
            account=account_message(engine, account, owner, engine.risk.accounts.get(account))
        )

    # -- alerts --------------------------------------------------------------

    async def CreateAlert(  # noqa: N802
        self, request: pb.CreateAlertRequest, context: Context
    ) -> pb.CreateAlertResponse:
        if request.severity not in _SEVERITIES:
            await abort(context, invalid_argument("severity", "severity is required"))
        if not request.description:
            await abort(context, invalid_argument("description", "description is required"))
        principal = current_principal()
        alert = manual_alert(request, principal.user_id if principal else "", self._sequencer.now())
        stored = await self._alerts.file(alert)
        return pb.CreateAlertResponse(alert=alert_message(stored))

    async def ListAlerts(  # noqa: N802
        self, request: pb.ListAlertsRequest, context: Context
    ) -> pb.ListAlertsResponse:
        size = await page_size(request.page_size, context)
        before = await _alert_token(request.page_token, context)
        page = await self._alerts.store.list_alerts(
            account=request.account_id,
            symbol=request.symbol,
            kinds=tuple(AlertKind(kind) for kind in request.kinds if kind in _KINDS),
            min_severity=request.min_severity,
            statuses=tuple(AlertStatus(one) for one in request.statuses if one in _STATUSES),
            start_time=_nanos(request, "start_time"),
            end_time=_nanos(request, "end_time"),
            limit=size,
            before=before,
        )
        following = page.next_before
        return pb.ListAlertsResponse(
            alerts=[alert_message(alert) for alert in page.alerts],
            next_page_token=f"{following[0]}.{following[1]}" if following else "",
        )

    async def GetAlert(  # noqa: N802
        self, request: pb.GetAlertRequest, context: Context
    ) -> pb.GetAlertResponse:
        number = await _alert_number(request.alert_id, context)
        found = await alert_reviews.alert(self._alerts.store, number)
        if found is None:
            await abort(context, unknown_alert(request.alert_id))
        reviews = await alert_reviews.reviews_of(self._alerts.store, number)
        return pb.GetAlertResponse(
            alert=alert_message(found), reviews=[review_message(one) for one in reviews]
        )

    async def ResolveAlert(  # noqa: N802
        self, request: pb.ResolveAlertRequest, context: Context
    ) -> pb.ResolveAlertResponse:
        number = await _alert_number(request.alert_id, context)
        if request.status not in _STATUSES:
            await abort(context, invalid_argument("status", "status must be an AlertStatus"))
        status = AlertStatus(request.status)
        note = request.note.strip()
        if status.closed and not note:
            await abort(
                context, invalid_argument("note", f"a note is required to {_VERB[status]} an alert")
            )
        principal = current_principal()
        # Without sign-in (a test exchange) nobody's roles are checked.
        reviewer = principal.user_id if principal else ""
        may_reopen = principal is None or ADMIN in principal.roles
        outcome = await self._alerts.review(
            Review(number, status, reviewer, self._sequencer.now(), note, may_reopen)
        )
        if outcome is ReviewRefusal.UNKNOWN_ALERT:
            await abort(context, unknown_alert(request.alert_id))
        if outcome is ReviewRefusal.CLOSED:
            closed = f"alert {number} is closed: only an administrator may review it again"
            await abort(context, alert_closed(closed))
        if outcome is ReviewRefusal.UNCHANGED_WITHOUT_NOTE:
            await abort(
                context,
                invalid_argument("note", f"the alert is already {status.name}: give a note to add"),
            )
        assert isinstance(outcome, Reviewed)
        review = outcome.review
        origin = origin_of(context)
        user = await self._directory.user(reviewer) if reviewer else None
        await self._directory.record(
            "alert_reviewed", reviewer, user.username if user else "", origin.source,
            f"alert {number} {review.from_status.name} -> {status.name}: {note}"[:1000],
            origin.gateway,
        )  # fmt: skip
        _log.warning(
            "alert %d reviewed: %s -> %s", number, review.from_status.name, status.name,
            extra=_actor(alert_id=number, from_status=review.from_status.name,
                         to_status=status.name),
        )  # fmt: skip
        reviews = await alert_reviews.reviews_of(self._alerts.store, number)
        return pb.ResolveAlertResponse(
            alert=alert_message(outcome.alert), reviews=[review_message(one) for one in reviews]
        )

    async def StreamAlerts(  # noqa: N802
        self, request: pb.StreamAlertsRequest, context: Context
    ) -> AsyncIterator[pb.StreamAlertsResponse]:
        kinds = frozenset(request.kinds)
        queue = self._alerts.subscribe()
        try:
            # Subscribed now: the first heartbeat tells the client so, and
            # that a ListAlerts from then on misses nothing the stream skips.
            yield pb.StreamAlertsResponse(heartbeat=self._heartbeat_message())
            while True:
                try:
                    alert = await asyncio.wait_for(queue.get(), self._heartbeat)
                except TimeoutError:
                    yield pb.StreamAlertsResponse(heartbeat=self._heartbeat_message())
                    continue
                if alert is LEFT_BEHIND:
                    await abort(
                        context,
                        slow_consumer(
                            f"{SUBSCRIBER_BACKLOG} alerts unread: subscribe again and, after "
                            "the first heartbeat, list the alerts (ListAlerts)"
                        ),
                    )
                assert alert is not None
                if matches(alert, request.account_id, request.symbol, kinds, request.min_severity):
                    yield pb.StreamAlertsResponse(alert=alert_message(alert))
        finally:
            self._alerts.unsubscribe(queue)

    def _heartbeat_message(self) -> common_pb2.Heartbeat:
        heartbeat = common_pb2.Heartbeat(sequence=self._sequencer.durable_sequence)
        heartbeat.server_time.GetCurrentTime()
        return heartbeat


def _nanos(request: pb.ListAlertsRequest, name: str) -> int | None:
    return getattr(request, name).ToNanoseconds() if request.HasField(name) else None  # type: ignore[arg-type]


def _actor(**fields: object) -> dict[str, object]:
    """Structured fields of an operator action's log line, with who did it."""
    principal = current_principal()
    if principal is not None:
        fields["by_user_id"] = principal.user_id
    return fields


def _target(account: str, accounts: tuple[str, ...], user: str, reason: str) -> dict[str, object]:
    return _actor(account_id=account, account_ids=list(accounts), user_id=user, reason=reason)


async def _alert_number(alert_id: str, context: Context) -> int:
    if not alert_id:
        await abort(context, invalid_argument("alert_id", "alert_id is required"))
    number = page_number(alert_id)
    if number is None:
        # Ids are the store's numbers: anything else names no alert.
        await abort(context, unknown_alert(alert_id))
    return number


async def _alert_token(token: str, context: Context) -> tuple[int, str] | None:
    """The (create time, alert id) a ``next_page_token`` stands for."""
    if not token:
        return None
    time, _, alert_id = token.partition(".")
    number = page_number(time)
    if number is None or page_number(alert_id) is None:
        await abort(context, invalid_argument("page_token", "page_token is not one we issued"))
    return number, alert_id
