"""Orders as clients see them, and their execution reports.

The registry is a projection of the sequencer's committed batches: each
command, the client order id it came with, and the events it caused become
order records and execution reports. It holds no other input, so replaying
the journal rebuilds it exactly, report sequence numbers included; that is
what lets a reconnecting client ask for "every report after N" across a
restart and get no gap and no duplicate.

Refusals made before the sequencer (an input rule, a duplicate client order
id, an account or order the caller may not use) never reach the journal, so
they are in no history here: the gateway answers them to the caller alone,
with report sequence 0 (``server/gateways/grpc/refusals.py``). Refusals by
the engine are sequenced, and numbered here like every other report.

A cancel or replace may come with the client's id of that request (FIX's
ClOrdID of an OrderCancelRequest), journaled in the slot a new order's
client order id takes; the CANCELED, REPLACED, CANCEL_REJECTED or
REPLACE_REJECTED report it causes echoes it as ``client_request_id``.
An order is found by any id of its chain (``find``): its own client order id
and the request id of each replace or cancel that took effect on it, so a FIX
OrigClOrdID may name the latest ClOrdID, also after a restart of a gateway
(the chain is rebuilt by replay and kept in snapshots).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

from stocktraderx.v1 import orders_pb2 as pb

from matching import (
    CancelOrder,
    CancelRejected,
    Event,
    NewOrder,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    OrderType,
    ReplaceOrder,
    Side,
    StopTriggered,
    Trade,
)
from server.model.sequenced import Sequenced

REPORT_WINDOW = 20_000
"""Reports kept per account for resume; older ones come from the store."""
FINISHED_KEPT = 100_000
"""Finished orders (filled, cancelled, expired) kept in memory, newest first
out last. Open orders are always kept; so is every client order id, since a
duplicate must be refused however old the first use is. Without this bound
the registry, and with it every snapshot, grows with every order ever sent
(136 MB and a 14 s shutdown snapshot after a 500,000-order load test)."""


class Report(NamedTuple):
    """An execution report, field for field as in the contract."""

    report_sequence: int
    exec_type: int
    order_status: int
    order_id: int
    client_order_id: str
    account: str
    symbol: str
    side: int
    order_type: int
    time_in_force: int
    price: int
    stop_price: int
    quantity: int
    leaves_quantity: int
    cum_quantity: int
    avg_price: int
    last_price: int
    last_quantity: int
    trade_id: int
    liquidity: int
    reject_reason: int
    cancel_reason: int
    sequence: int
    transact_time: int
    client_request_id: str = ""
    """The client's id of the cancel or replace request that caused this
    report ("" otherwise, and in snapshots from before it existed)."""


_new_report = tuple.__new__
"""Builds a ``Report`` from a tuple of its fields without the generated
``__new__`` and its 25 keyword-capable parameters (99 against 226 ns)."""


RECORD_FIELDS: Final = (
    "account",
    "cancel_reason",
    "client_order_id",
    "create_time",
    "cum_quantity",
    "display_quantity",
    "expire_time",
    "last_report_sequence",
    "leaves_quantity",
    "notional",
    "order_id",
    "order_type",
    "post_only",
    "price",
    "quantity",
    "reject_reason",
    "self_trade_prevention",
    "side",
    "status",
    "stop_price",
    "symbol",
    "time_in_force",
    "update_time",
)
"""An order record's fields, in the order of its snapshot state (``as_state``,
``from_state``); named here, not read from ``__slots__``, which compiled
classes do not keep."""


_BLANK = NewOrder(0, "", "", Side.BUY, OrderType.LIMIT, 0)
"""What a record rebuilt from its fields starts from (``OrderRecord.from_state``)."""


class OrderRecord:
    __slots__ = RECORD_FIELDS

    def __init__(self, order_id: int, client_order_id: str, command: NewOrder) -> None:
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.account = command.account
        self.symbol = command.symbol
        self.side = int(command.side)
        self.order_type = int(command.order_type)
        self.time_in_force = int(command.time_in_force)
        self.price = command.price
        self.stop_price = command.stop_price
        self.quantity = command.quantity
        self.leaves_quantity = command.quantity
        self.cum_quantity = 0
        self.notional = 0
        """Sum of price x quantity over fills, for the average price."""
        self.display_quantity = command.display_quantity
        self.post_only = command.post_only
        self.self_trade_prevention = int(command.self_trade_prevention)
        self.expire_time = command.expire_time
        self.create_time = self.update_time = command.timestamp
        self.reject_reason = self.cancel_reason = 0
        self.last_report_sequence = 0
        self.status = (
            pb.ORDER_STATUS_PENDING_TRIGGER
            if command.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
            else pb.ORDER_STATUS_NEW
        )

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN

    @property
    def avg_price(self) -> int:
        """Volume-weighted fill price, rounded to the nearest unit."""
        if not self.cum_quantity:
            return 0
        return (2 * self.notional + self.cum_quantity) // (2 * self.cum_quantity)

    def as_state(self) -> list[Any]:
        return [getattr(self, name) for name in RECORD_FIELDS]

    @classmethod
    def from_state(cls, state: Sequence[Any]) -> OrderRecord:
        """The record whose ``as_state`` is ``state`` (a snapshot's, or a store
        row's fields in ``RECORD_FIELDS`` order). Compiled, a class cannot be
        made without running its ``__init__`` (``__new__`` alone raises
        ``TypeError``), so a blank order is its start and every field is set."""
        record = cls(0, "", _BLANK)
        for name, value in zip(RECORD_FIELDS, state, strict=True):
            setattr(record, name, value)
        return record


_REQUESTS = (CancelOrder, ReplaceOrder)
"""Commands whose client id is the request's own, not an order's."""
_ANSWERS = (OrderCancelled, OrderReplaced)
"""Events that answer a cancel or replace request about its order."""

_OPEN = frozenset(
    (pb.ORDER_STATUS_NEW, pb.ORDER_STATUS_PARTIALLY_FILLED, pb.ORDER_STATUS_PENDING_TRIGGER)
)


class OrderRegistry:
    def __init__(self, window: int = REPORT_WINDOW, finished_kept: int = FINISHED_KEPT) -> None:
        self.window = window
        self.finished_kept = finished_kept
        self.orders: dict[int, OrderRecord] = {}
        self.client_ids: dict[str, set[str]] = {}
        """Every client order id each account has used."""
        self.by_client_id: dict[tuple[str, str], int] = {}
        """(account, any client id of an order's chain) -> order id, for the
        orders held in ``orders``."""
        self.later_ids: dict[int, list[str]] = {}
        """The ids an order took after its own: replace and cancel request ids."""
        self.finished: deque[int] = deque()
        """Ids of the finished orders still in ``orders``, oldest first."""
        self.logs: dict[str, deque[Report]] = {}
        self.last_report: dict[str, int] = {}

    # -- reading -------------------------------------------------------------

    def is_duplicate(self, account: str, client_order_id: str) -> bool:
        used = self.client_ids.get(account)
        return used is not None and client_order_id in used

    def find(self, account: str, client_id: str) -> OrderRecord | None:
        """The order of ``account`` that carried ``client_id``, first or later."""
        order_id = self.by_client_id.get((account, client_id))
        return None if order_id is None else self.orders.get(order_id)

    def reports_after(self, account: str, after: int) -> list[Report] | None:
        """Every report of ``account`` numbered above ``after``; None when some
        of them are older than the window kept here."""
        log = self.logs.get(account)
        if log is None:
            return [] if after >= self.last_report.get(account, 0) else None
        if log and after + 1 < log[0].report_sequence:
            return None
        return [report for report in log if report.report_sequence > after]

    def reports_of(self, account: str, sequence: int) -> list[Report]:
        """The reports command ``sequence`` gave ``account`` (newest are last)."""
        found: list[Report] = []
        for report in reversed(self.logs.get(account, ())):
            if report.sequence < sequence:
                break
            if report.sequence == sequence:
                found.append(report)
        found.reverse()
        return found

    def open_orders(self, account: str, symbol: str = "") -> list[OrderRecord]:
        return [
            record
            for record in self.orders.values()
            if record.account == account
            and record.is_open
            and (not symbol or record.symbol == symbol)
        ]

    # -- applying committed commands -----------------------------------------

    def apply(self, batch: Iterable[Sequenced]) -> list[Report]:
        reports: list[Report] = []
        for item in batch:
            self._apply_one(item, reports)
        return reports

    def _apply_one(self, item: Sequenced, reports: list[Report]) -> None:
        command = item.command
        time = command.timestamp
        trade: Trade | None = None
        request_id = ""
        target = 0
        if item.client_order_id and type(command) in _REQUESTS:
            # A cancel's or replace's own id goes on the reports about its order.
            request_id = item.client_order_id
            target = command.order_id  # type: ignore[union-attr]
        for event in item.events:
            kind = type(event)
            if kind is Trade:
                trade = event  # type: ignore[assignment]
            elif kind is OrderAccepted:
                self._accepted(event, item, reports)  # type: ignore[arg-type]
            elif kind is OrderRejected and isinstance(command, NewOrder):
                self._rejected(command, event, item, reports)  # type: ignore[arg-type]
            elif kind is CancelRejected:
                self._cancel_rejected(command, event, item, reports)  # type: ignore[arg-type]
            elif request_id and kind in _ANSWERS and event.order_id == target:  # type: ignore[union-attr]
                self._update(event, trade, item.sequence, time, reports, request_id)
            else:
                self._update(event, trade, item.sequence, time, reports)

    def _accepted(self, event: OrderAccepted, item: Sequenced, reports: list[Report]) -> None:
        command = item.command
        assert isinstance(command, NewOrder)
        record = OrderRecord(event.order_id, item.client_order_id, command)
        self.orders[event.order_id] = record
        if item.client_order_id:
            self._use_client_id(record.account, item.client_order_id)
            self.by_client_id[(record.account, item.client_order_id)] = event.order_id
        self._report(record, pb.EXEC_TYPE_NEW, item.sequence, command.timestamp, reports)

    def _rejected(
        self, command: NewOrder, event: OrderRejected, item: Sequenced, reports: list[Report]
    ) -> None:
        record = OrderRecord(0, item.client_order_id, command)
        record.status = pb.ORDER_STATUS_REJECTED
        record.leaves_quantity = 0
        self._report(
            record,
            pb.EXEC_TYPE_REJECTED,
            item.sequence,
            command.timestamp,
            reports,
            reject_reason=int(event.reason),
        )

    def _cancel_rejected(
        self, command: Any, event: CancelRejected, item: Sequenced, reports: list[Report]
    ) -> None:
        record = self.orders.get(event.order_id)
        if record is None or record.account != event.account:
            # Unknown to this account: report on a blank order, leaking nothing.
            blank = NewOrder(command.timestamp, event.account, "", Side.BUY, OrderType.LIMIT, 0)
            record = OrderRecord(event.order_id, "", blank)
            record.side = record.order_type = record.time_in_force = 0
            record.status = pb.ORDER_STATUS_UNSPECIFIED
        exec_type = (
            pb.EXEC_TYPE_REPLACE_REJECTED
            if isinstance(command, ReplaceOrder)
            else pb.EXEC_TYPE_CANCEL_REJECTED
        )
        assert isinstance(command, CancelOrder | ReplaceOrder)
        self._report(
            record,
            exec_type,
            item.sequence,
            command.timestamp,
            reports,
            reject_reason=int(event.reason),
            client_request_id=item.client_order_id,
        )

    def _update(
        self,
        event: Event,
        trade: Trade | None,
        sequence: int,
        time: int,
        reports: list[Report],
        request_id: str = "",
    ) -> None:
        kind = type(event)
        if kind is OrderFilled:
            self._filled(event, trade, sequence, time, reports)  # type: ignore[arg-type]
            return
        record = self.orders.get(getattr(event, "order_id", 0))
        if record is None:
            return
        if kind is OrderCancelled:
            assert isinstance(event, OrderCancelled)
            record.status = pb.ORDER_STATUS_CANCELED
            record.leaves_quantity = 0
            self._report(
                record, pb.EXEC_TYPE_CANCELED, sequence, time, reports,
                cancel_reason=int(event.reason), client_request_id=request_id,
            )  # fmt: skip
            self._chain(record, request_id)
            self._finish(record)
        elif kind is OrderExpired:
            record.status = pb.ORDER_STATUS_EXPIRED
            record.leaves_quantity = 0
            self._report(record, pb.EXEC_TYPE_EXPIRED, sequence, time, reports)
            self._finish(record)
        elif kind is OrderReduced:
            assert isinstance(event, OrderReduced)
            record.quantity -= event.reduced_by
            record.leaves_quantity = event.leaves_quantity
            self._report(
                record, pb.EXEC_TYPE_RESTATED, sequence, time, reports,
                cancel_reason=int(event.reason),
            )  # fmt: skip
        elif kind is OrderReplaced:
            assert isinstance(event, OrderReplaced)
            record.price = event.price
            record.quantity = event.quantity
            record.leaves_quantity = event.leaves_quantity
            if event.stop_price:
                record.stop_price = event.stop_price
            self._report(
                record, pb.EXEC_TYPE_REPLACED, sequence, time, reports,
                client_request_id=request_id,
            )  # fmt: skip
            self._chain(record, request_id)
        elif kind is StopTriggered:
            record.status = pb.ORDER_STATUS_NEW
            self._report(record, pb.EXEC_TYPE_TRIGGERED, sequence, time, reports)

    def _filled(
        self,
        event: OrderFilled,
        trade: Trade | None,
        sequence: int,
        time: int,
        reports: list[Report],
    ) -> None:
        record = self.orders.get(event.order_id)
        if record is None:
            return
        record.cum_quantity = event.cum_quantity
        record.leaves_quantity = event.leaves_quantity
        record.notional += event.price * event.quantity
        complete = event.leaves_quantity == 0
        record.status = pb.ORDER_STATUS_FILLED if complete else pb.ORDER_STATUS_PARTIALLY_FILLED
        if trade is None or trade.aggressor_side is None:
            liquidity = pb.LIQUIDITY_INDICATOR_AUCTION
        elif int(trade.aggressor_side) == record.side:
            liquidity = pb.LIQUIDITY_INDICATOR_TAKER
        else:
            liquidity = pb.LIQUIDITY_INDICATOR_MAKER
        self._report(
            record,
            pb.EXEC_TYPE_FILL if complete else pb.EXEC_TYPE_PARTIAL_FILL,
            sequence,
            time,
            reports,
            last_price=event.price,
            last_quantity=event.quantity,
            trade_id=event.trade_id,
            liquidity=liquidity,
        )
        if complete:
            self._finish(record)

    def _use_client_id(self, account: str, client_order_id: str) -> None:
        used = self.client_ids.get(account)
        if used is None:
            used = self.client_ids[account] = set()
        used.add(client_order_id)

    def _chain(self, record: OrderRecord, request_id: str) -> None:
        """``request_id`` names ``record`` from now on, beside its earlier ids."""
        if request_id:
            self.later_ids.setdefault(record.order_id, []).append(request_id)
            self.by_client_id[(record.account, request_id)] = record.order_id

    def _finish(self, record: OrderRecord) -> None:
        """Note that ``record`` can change no more; forget the oldest finished
        order once more than ``finished_kept`` are held."""
        finished = self.finished
        finished.append(record.order_id)
        if len(finished) > self.finished_kept:
            self._forget(self.orders.pop(finished.popleft()))

    def _forget(self, record: OrderRecord) -> None:
        for client_id in (record.client_order_id, *self.later_ids.pop(record.order_id, ())):
            if self.by_client_id.get((record.account, client_id)) == record.order_id:
                del self.by_client_id[(record.account, client_id)]

    def _report(
        self,
        record: OrderRecord,
        exec_type: int,
        sequence: int,
        time: int,
        reports: list[Report],
        *,
        reject_reason: int = 0,
        cancel_reason: int = 0,
        last_price: int = 0,
        last_quantity: int = 0,
        trade_id: int = 0,
        liquidity: int = 0,
        client_request_id: str = "",
    ) -> None:
        account = record.account
        number = self.last_report.get(account, 0) + 1
        self.last_report[account] = number
        record.update_time = time
        record.last_report_sequence = number
        record.reject_reason = reject_reason or record.reject_reason
        record.cancel_reason = cancel_reason or record.cancel_reason
        report = _new_report(
            Report,
            (
                number,
                exec_type,
                record.status,
                record.order_id,
                record.client_order_id,
                account,
                record.symbol,
                record.side,
                record.order_type,
                record.time_in_force,
                record.price,
                record.stop_price,
                record.quantity,
                record.leaves_quantity,
                record.cum_quantity,
                record.avg_price,
                last_price,
                last_quantity,
                trade_id,
                liquidity,
                reject_reason,
                cancel_reason,
                sequence,
                time,
                client_request_id,
            ),
        )
        log = self.logs.get(account)
        if log is None:
            log = self.logs[account] = deque(maxlen=self.window)
        log.append(report)
        reports.append(report)

    # -- snapshots -----------------------------------------------------------

    def take_over(self, other: OrderRegistry) -> None:
        """Become ``other``: a replica rebuilt from a snapshot refills the
        registry object the services already hold instead of replacing it.
        Each attribute by name: a compiled (native) object has no ``__dict__``
        (tests/server/core/test_registry.py checks none is left out)."""
        self.window = other.window
        self.finished_kept = other.finished_kept
        self.orders = other.orders
        self.client_ids = other.client_ids
        self.by_client_id = other.by_client_id
        self.later_ids = other.later_ids
        self.finished = other.finished
        self.logs = other.logs
        self.last_report = other.last_report

    def snapshot(self) -> dict[str, Any]:
        return {
            "orders": [record.as_state() for record in self.orders.values()],
            "finished": list(self.finished),
            "later_ids": [[order_id, ids] for order_id, ids in self.later_ids.items()],
            "client_ids": {account: sorted(used) for account, used in self.client_ids.items()},
            "logs": {
                account: [list(report) for report in log] for account, log in self.logs.items()
            },
            "last_report": dict(self.last_report),
        }

    @classmethod
    def restore(
        cls, state: dict[str, Any], window: int = REPORT_WINDOW, finished_kept: int = FINISHED_KEPT
    ) -> OrderRegistry:
        registry = cls(window, finished_kept)
        for fields in state["orders"]:
            record = OrderRecord.from_state(fields)
            registry.orders[record.order_id] = record
            if record.client_order_id:
                registry._use_client_id(record.account, record.client_order_id)
                registry.by_client_id[(record.account, record.client_order_id)] = record.order_id
        # Snapshots from before the chains have none: their orders keep their own ids.
        for order_id, ids in state.get("later_ids", ()):
            chained = registry.orders.get(order_id)
            if chained is not None:
                for client_id in ids:
                    registry._chain(chained, client_id)
        for account, used in state.get("client_ids", {}).items():
            registry.client_ids.setdefault(account, set()).update(used)
        if "finished" in state:
            registry.finished.extend(state["finished"])
        else:
            # Snapshots from before the bound list no finished orders: they are
            # the records no longer open, in the order they were created.
            registry.finished.extend(
                record.order_id for record in registry.orders.values() if not record.is_open
            )
        while len(registry.finished) > finished_kept:
            registry._forget(registry.orders.pop(registry.finished.popleft()))
        for account, reports in state["logs"].items():
            registry.logs[account] = deque((Report(*fields) for fields in reports), maxlen=window)
        registry.last_report = dict(state["last_report"])
        return registry
