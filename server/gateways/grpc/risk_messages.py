"""Accounts, limits and alerts as contract messages, and back."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from stocktraderx.v1 import risk_pb2 as pb

from matching import Engine, RiskLimits
from matching.ledger import AccountLedger, Holding
from server.model.alerts import Alert, AlertKind, AlertReview, AlertSeverity

LIMIT_FIELDS = (
    "max_order_quantity",
    "max_order_notional",
    "price_collar_bps",
    "max_position_quantity",
    "max_open_orders",
    "max_messages_per_second",
)
"""The optional fields of RiskLimits (unset: no limit)."""
CURRENCY = "USD"


def timestamp(nanos: int) -> Timestamp | None:
    if not nanos:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(nanos)
    return stamp


def limits_message(limits: RiskLimits) -> pb.RiskLimits:
    message = pb.RiskLimits(allow_short_selling=limits.allow_short_selling)
    for name in LIMIT_FIELDS:
        value = getattr(limits, name)
        if value is not None:
            setattr(message, name, value)
    return message


def merged_limits(current: RiskLimits, update: pb.RiskLimits, paths: list[str]) -> RiskLimits:
    """``current`` with the ``paths`` of ``update`` applied (all fields when
    ``paths`` is empty); a listed optional field unset in ``update`` removes
    that limit."""
    values = current._asdict()
    for name in paths or (*LIMIT_FIELDS, "allow_short_selling"):
        if name == "allow_short_selling":
            values[name] = update.allow_short_selling
        else:
            present = update.HasField(name)  # type: ignore[arg-type]
            values[name] = getattr(update, name) if present else None
    return RiskLimits(**values)


def mark_price(engine: Engine, symbol: str) -> int:
    book = engine.books.get(symbol)
    if book is None:
        return 0
    return book.last_trade_price or book.previous_close


def _largest_position(ledger: AccountLedger) -> int:
    largest = 0
    for holding in ledger.holdings.values():
        largest = max(
            largest,
            abs(holding.quantity + holding.open_buy),
            abs(holding.quantity - holding.open_sell),
        )
    return largest


def account_risk(
    engine: Engine, account: str, ledger: AccountLedger | None, now: int
) -> pb.AccountRisk:
    risk = engine.risk
    if ledger is None:
        return pb.AccountRisk(
            account_id=account,
            limits=limits_message(risk.default_limits),
            usage=pb.RiskUsage(),
        )
    return pb.AccountRisk(
        account_id=account,
        limits=limits_message(risk.limits_of(ledger)),
        usage=pb.RiskUsage(
            open_orders=ledger.open_orders,
            messages_last_second=ledger.messages_in_second(now),
            reserved_cash=ledger.reserved,
            buying_power=ledger.buying_power,
            largest_position_quantity=_largest_position(ledger),
        ),
        kill_switch_active=ledger.killed,
        kill_switch_reason=ledger.kill_reason,
    )


def _position(engine: Engine, symbol: str, holding: Holding) -> pb.Position:
    mark = mark_price(engine, symbol)
    return pb.Position(
        symbol=symbol,
        quantity=holding.quantity,
        average_cost=holding.average_cost,
        mark_price=mark,
        realized_pnl=holding.realized,
        unrealized_pnl=holding.unrealized(mark),
    )


def account_message(
    engine: Engine, account: str, owner: str, ledger: AccountLedger | None
) -> pb.Account:
    if ledger is None:
        return pb.Account(account_id=account, user_id=owner, currency=CURRENCY)
    positions = [
        _position(engine, symbol, holding)
        for symbol, holding in sorted(ledger.holdings.items())
        if holding.quantity or holding.realized
    ]
    return pb.Account(
        account_id=account,
        user_id=owner,
        currency=CURRENCY,
        cash_balance=ledger.cash,
        buying_power=ledger.buying_power,
        positions=positions,
        realized_pnl=sum(position.realized_pnl for position in positions),
        unrealized_pnl=sum(position.unrealized_pnl for position in positions),
        kill_switch_active=ledger.killed,
        update_time=timestamp(ledger.updated),
    )


def alert_message(alert: Alert) -> pb.Alert:
    return pb.Alert(
        alert_id=alert.alert_id,
        kind=pb.AlertKind.ValueType(alert.kind),
        severity=pb.AlertSeverity.ValueType(alert.severity),
        account_id=alert.account,
        symbol=alert.symbol,
        description=alert.description,
        evidence=pb.AlertEvidence(
            order_ids=alert.order_ids,
            trade_ids=alert.trade_ids,
            start_time=timestamp(alert.start_time),
            end_time=timestamp(alert.end_time),
            details=dict(alert.details),
        ),
        create_time=timestamp(alert.create_time),
        creator_user_id=alert.creator_user_id,
        status=pb.AlertStatus.ValueType(alert.status),
        reviewer_user_id=alert.reviewer_user_id,
        review_time=timestamp(alert.review_time),
        review_note=alert.review_note,
        review_count=alert.review_count,
    )


def review_message(review: AlertReview) -> pb.AlertReview:
    return pb.AlertReview(
        from_status=pb.AlertStatus.ValueType(review.from_status),
        to_status=pb.AlertStatus.ValueType(review.to_status),
        reviewer_user_id=review.reviewer_user_id,
        review_time=timestamp(review.review_time),
        note=review.note,
    )


def manual_alert(request: pb.CreateAlertRequest, creator: str, now: int) -> Alert:
    evidence = request.evidence
    return Alert(
        kind=AlertKind.MANUAL,
        severity=AlertSeverity(request.severity),
        account=request.account_id,
        symbol=request.symbol,
        description=request.description,
        order_ids=tuple(evidence.order_ids),
        trade_ids=tuple(evidence.trade_ids),
        start_time=evidence.start_time.ToNanoseconds() if evidence.HasField("start_time") else 0,
        end_time=evidence.end_time.ToNanoseconds() if evidence.HasField("end_time") else 0,
        details=tuple(sorted(evidence.details.items())),
        create_time=now,
        creator_user_id=creator,
    )


def matches(
    alert: Alert, account: str, symbol: str, kinds: frozenset[int], min_severity: int
) -> bool:
    """Whether a streamed alert passes a StreamAlerts request's filters."""
    return (
        (not account or alert.account == account)
        and (not symbol or alert.symbol == symbol)
        and (not kinds or int(alert.kind) in kinds)
        and int(alert.severity) >= min_severity
    )
