"""Execution reports: what each engine event tells the account, in order."""

from stocktraderx.v1 import orders_pb2 as pb

from matching import (
    CancelOrder,
    Engine,
    Instrument,
    NewOrder,
    OrderType,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from matching.commands import Command
from server.model.registry import OrderRecord, OrderRegistry, Report
from server.model.sequenced import Sequenced


class Desk:
    """Commands straight into an engine and a registry, as the sequencer would."""

    def __init__(self) -> None:
        self.engine = Engine([Instrument("X", 100)])
        self.registry = OrderRegistry(window=50)
        self.sequence = 0

    def send(self, command: Command, client_order_id: str = "") -> list[Report]:
        self.sequence += 1
        events = self.engine.process(command)
        return self.registry.apply([Sequenced(self.sequence, command, events, client_order_id)])


def _limit(account: str, side: Side, quantity: int, price: int, when: int = 1) -> NewOrder:
    return NewOrder(when, account, "X", side, OrderType.LIMIT, quantity, price, TimeInForce.GTC)


def test_new_fill_and_cancel_reports_per_account() -> None:
    desk = Desk()
    (new,) = desk.send(_limit("a", Side.SELL, 300, 10_000), "a-1")
    assert (new.exec_type, new.order_status, new.client_order_id) == (
        pb.EXEC_TYPE_NEW,
        pb.ORDER_STATUS_NEW,
        "a-1",
    )
    reports = desk.send(_limit("b", Side.BUY, 100, 10_000), "b-1")
    by_account = {report.account: report for report in reports if report.exec_type != 1}
    maker, taker = by_account["a"], by_account["b"]
    assert (maker.exec_type, maker.liquidity, maker.leaves_quantity) == (
        pb.EXEC_TYPE_PARTIAL_FILL,
        pb.LIQUIDITY_INDICATOR_MAKER,
        200,
    )
    assert (taker.exec_type, taker.liquidity, taker.avg_price) == (
        pb.EXEC_TYPE_FILL,
        pb.LIQUIDITY_INDICATOR_TAKER,
        10_000,
    )
    (cancel,) = desk.send(CancelOrder(3, "a", new.order_id))
    assert (cancel.exec_type, cancel.order_status, cancel.leaves_quantity) == (
        pb.EXEC_TYPE_CANCELED,
        pb.ORDER_STATUS_CANCELED,
        0,
    )
    assert [report.report_sequence for report in desk.registry.logs["a"]] == [1, 2, 3]
    assert [report.report_sequence for report in desk.registry.logs["b"]] == [1, 2]


def test_rejections_are_reported_with_their_reason() -> None:
    desk = Desk()
    (rejected,) = desk.send(_limit("a", Side.BUY, 100, 10_050), "bad")
    assert (rejected.exec_type, rejected.reject_reason, rejected.order_id) == (
        pb.EXEC_TYPE_REJECTED,
        6,
        0,
    )
    (cancel,) = desk.send(CancelOrder(2, "a", 999))
    assert cancel.exec_type == pb.EXEC_TYPE_CANCEL_REJECTED
    (replace,) = desk.send(ReplaceOrder(3, "a", 999, 10_000, 100))
    assert replace.exec_type == pb.EXEC_TYPE_REPLACE_REJECTED


def test_someone_elses_order_is_not_revealed_in_a_cancel_reject() -> None:
    desk = Desk()
    (new,) = desk.send(_limit("a", Side.BUY, 100, 10_000), "secret")
    (rejected,) = desk.send(CancelOrder(2, "intruder", new.order_id))
    assert rejected.account == "intruder"
    assert (rejected.symbol, rejected.client_order_id, rejected.quantity) == ("", "", 0)


def test_average_price_over_several_fills() -> None:
    desk = Desk()
    desk.send(_limit("m", Side.SELL, 100, 10_000))
    desk.send(_limit("m", Side.SELL, 200, 10_100))
    reports = desk.send(_limit("t", Side.BUY, 300, 10_100))
    last = [report for report in reports if report.account == "t"][-1]
    assert last.avg_price == (100 * 10_000 + 200 * 10_100 + 150) // 300


def test_decrement_is_a_restatement() -> None:
    desk = Desk()
    desk.send(_limit("a", Side.SELL, 300, 10_000))
    command = NewOrder(
        2, "a", "X", Side.BUY, OrderType.LIMIT, 100, 10_000,
        self_trade_prevention=SelfTradePrevention.DECREMENT,
    )  # fmt: skip
    reports = desk.send(command)
    assert pb.EXEC_TYPE_RESTATED in [report.exec_type for report in reports]


def test_duplicates_resume_and_window() -> None:
    desk = Desk()
    desk.send(_limit("a", Side.BUY, 100, 9_000), "one")
    assert desk.registry.is_duplicate("a", "one")
    assert not desk.registry.is_duplicate("b", "one")
    assert not desk.registry.is_duplicate("a", "")
    for index in range(60):
        desk.send(_limit("a", Side.BUY, 100, 9_000, when=index + 2))
    assert desk.registry.reports_after("a", 59) == list(desk.registry.logs["a"])[-2:]
    assert desk.registry.reports_after("a", 61) == []
    assert desk.registry.reports_after("a", 0) is None
    assert desk.registry.reports_after("nobody", 0) == []


def test_snapshot_round_trip() -> None:
    desk = Desk()
    desk.send(_limit("a", Side.SELL, 300, 10_000), "x")
    desk.send(_limit("b", Side.BUY, 100, 10_000), "y")
    restored = OrderRegistry.restore(desk.registry.snapshot(), window=50)
    assert {key: list(log) for key, log in restored.logs.items()} == {
        key: list(log) for key, log in desk.registry.logs.items()
    }
    assert restored.is_duplicate("b", "y")
    assert [record.as_state() for record in restored.orders.values()] == [
        record.as_state() for record in desk.registry.orders.values()
    ]


def test_finished_orders_beyond_the_bound_are_forgotten_but_their_ids_stay_used() -> None:
    desk = Desk()
    desk.registry = OrderRegistry(window=50, finished_kept=2)
    ids = [desk.send(_limit("a", Side.BUY, 100, 9_000), f"c{n}")[0].order_id for n in range(4)]
    for when, order_id in enumerate(ids[:3], start=10):
        desk.send(CancelOrder(when, "a", order_id))
    # Two finished orders are kept, the open one always.
    assert sorted(desk.registry.orders) == sorted(ids[1:])
    assert list(desk.registry.finished) == ids[1:3]
    assert all(desk.registry.is_duplicate("a", f"c{n}") for n in range(4))
    restored = OrderRegistry.restore(desk.registry.snapshot(), window=50, finished_kept=2)
    assert restored.snapshot() == desk.registry.snapshot()
    # A filled order finishes too, and pushes out the oldest finished one.
    desk.send(_limit("b", Side.SELL, 100, 9_000, when=20), "s")
    assert ids[1] not in desk.registry.orders
    assert ids[3] in desk.registry.finished


def test_snapshots_from_before_the_bound_restore_their_finished_orders() -> None:
    desk = Desk()
    (first,) = desk.send(_limit("a", Side.BUY, 100, 9_000), "old")
    desk.send(CancelOrder(2, "a", first.order_id))
    desk.send(_limit("a", Side.BUY, 100, 9_000, when=3), "open")
    legacy = desk.registry.snapshot()
    del legacy["finished"], legacy["client_ids"]
    restored = OrderRegistry.restore(legacy, window=50)
    assert list(restored.finished) == [first.order_id]
    assert restored.is_duplicate("a", "old")
    assert restored.is_duplicate("a", "open")


def test_a_cancel_or_replace_request_id_is_on_the_reports_it_causes() -> None:
    """Issue 16, item 7: the client's id of a cancel or replace request comes
    with the command (the journal slot of a new order's client order id) and
    goes on the reports answering it, not on any other."""
    desk = Desk()
    (first,) = desk.send(_limit("a", Side.BUY, 100, 9_000), "o-1")
    (second,) = desk.send(_limit("a", Side.BUY, 100, 9_000, when=2), "o-2")
    (replaced,) = desk.send(ReplaceOrder(3, "a", second.order_id, 9_100, 200), "r-1")
    assert (replaced.exec_type, replaced.client_request_id) == (pb.EXEC_TYPE_REPLACED, "r-1")
    assert replaced.client_order_id == "o-2"
    (cancelled,) = desk.send(CancelOrder(4, "a", first.order_id), "c-1")
    assert (cancelled.exec_type, cancelled.client_request_id) == (pb.EXEC_TYPE_CANCELED, "c-1")
    (late,) = desk.send(CancelOrder(5, "a", first.order_id), "c-2")
    assert (late.exec_type, late.client_request_id) == (pb.EXEC_TYPE_CANCEL_REJECTED, "c-2")
    (unknown,) = desk.send(ReplaceOrder(6, "a", 999, 9_000, 100), "r-2")
    assert (unknown.exec_type, unknown.client_request_id) == (
        pb.EXEC_TYPE_REPLACE_REJECTED,
        "r-2",
    )
    # A request's id is not an order's: it reserves nothing.
    assert not desk.registry.is_duplicate("a", "c-1")
    # The fills a replace causes, and other orders' reports, carry none.
    (sell,) = desk.send(_limit("b", Side.SELL, 300, 9_200, when=7), "s-1")
    crossing = desk.send(ReplaceOrder(8, "b", sell.order_id, 9_100, 300), "r-3")
    assert {(r.exec_type, r.client_request_id) for r in crossing} == {
        (pb.EXEC_TYPE_REPLACED, "r-3"),
        (pb.EXEC_TYPE_PARTIAL_FILL, ""),
        (pb.EXEC_TYPE_FILL, ""),
    }
    restored = OrderRegistry.restore(desk.registry.snapshot(), window=50)
    assert list(restored.logs["a"]) == list(desk.registry.logs["a"])


def test_reports_in_snapshots_from_before_request_ids_restore_without_one() -> None:
    desk = Desk()
    (new,) = desk.send(_limit("a", Side.BUY, 100, 9_000), "o-1")
    desk.send(CancelOrder(2, "a", new.order_id))
    legacy = desk.registry.snapshot()
    legacy["logs"] = {
        account: [fields[:24] for fields in reports] for account, reports in legacy["logs"].items()
    }
    restored = OrderRegistry.restore(legacy, window=50)
    assert list(restored.logs["a"]) == list(desk.registry.logs["a"])
    assert [report.client_request_id for report in restored.logs["a"]] == ["", ""]


def test_a_record_rebuilt_from_its_state_is_the_same_record() -> None:
    """``from_state`` is how snapshots and the store's rows become records:
    compiled, a record cannot be made with ``__new__`` alone."""
    desk = Desk()
    (new,) = desk.send(_limit("a", Side.BUY, 300, 9_000), "o-1")
    desk.send(_limit("b", Side.SELL, 100, 9_000, when=2), "s-1")
    record = desk.registry.orders[new.order_id]
    rebuilt = OrderRecord.from_state(record.as_state())
    assert rebuilt.as_state() == record.as_state()
    assert (rebuilt.is_open, rebuilt.avg_price) == (True, 9_000)


def test_taking_over_another_registry_leaves_no_attribute_behind() -> None:
    """A replica started again from a snapshot refills the registry its
    services hold (``Replica.reset``); a compiled registry has no ``__dict__``
    to copy, so each attribute is copied by name, and none may be missed."""
    desk = Desk()
    desk.registry = OrderRegistry(window=7, finished_kept=3)
    (first,) = desk.send(_limit("a", Side.BUY, 100, 9_000), "o-1")
    desk.send(ReplaceOrder(2, "a", first.order_id, 9_100, 200), "r-1")
    desk.send(CancelOrder(3, "a", first.order_id), "c-1")
    desk.send(_limit("b", Side.SELL, 100, 9_500, when=4), "s-1")
    held = OrderRegistry()
    held.take_over(desk.registry)
    # Pure, the instance's own attributes; compiled, those mypyc declares.
    names = getattr(OrderRegistry, "__mypyc_attrs__", None) or tuple(vars(OrderRegistry()))
    assert {"window", "orders", "logs"} <= set(names)
    for name in names:
        assert getattr(held, name) == getattr(desk.registry, name), name
    assert held.snapshot() == desk.registry.snapshot()
    assert held.find("a", "r-1") is desk.registry.orders[first.order_id]
