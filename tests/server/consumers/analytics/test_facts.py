"""The facts of one command: the sender goes on the sender's own reports."""

from __future__ import annotations

from matching import CancelOrder
from server.consumers.analytics.facts import DAY_NANOS, Facts
from server.journal.codec import Origin
from server.model.registry import Report


def _report(account: str) -> Report:
    return Report(
        report_sequence=1, exec_type=4, order_status=4, order_id=7, client_order_id="c7",
        account=account, symbol="AAPL", side=1, order_type=2, time_in_force=0, price=100,
        stop_price=0, quantity=10, leaves_quantity=0, cum_quantity=0, avg_price=0,
        last_price=0, last_quantity=0, trade_id=0, liquidity=0, reject_reason=0,
        cancel_reason=1, sequence=3, transact_time=2 * DAY_NANOS + 5,
    )  # fmt: skip


def test_a_traced_origin_gives_its_sender_and_not_its_traceparent() -> None:
    """Origins carry a traceparent when the gateway's span is sampled: the
    order event keeps the user, the address and the gateway only."""
    facts = Facts()
    origin = Origin("u-1", "10.0.0.9:5123", "grpc", "00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    command = CancelOrder(order_id=7, account="T", timestamp=2 * DAY_NANOS)
    facts.add(3, command, [], [_report("T"), _report("MM")], origin, {})
    columns = facts.order_event_columns()
    assert columns["user_id"] == ["u-1", ""]
    assert columns["source"] == ["10.0.0.9:5123", ""]
    assert columns["gateway"] == ["grpc", ""]
    assert columns["day"] == [2, 2]
