"""An order is found by any client id of its chain: its own, then each
replace's or cancel's request id that took effect; through snapshots too."""

from matching import CancelOrder, ReplaceOrder, Side
from server.model.registry import OrderRegistry
from tests.server.core.test_registry import Desk, _limit


def test_every_id_of_the_chain_finds_the_order_also_after_a_snapshot() -> None:
    desk = Desk()
    (new,) = desk.send(_limit("a", Side.BUY, 100, 10_000), "c1")
    desk.send(ReplaceOrder(2, "a", new.order_id, 10_100, 100), "c2")
    desk.send(ReplaceOrder(3, "a", new.order_id, 10_200, 100), "c3")
    for registry in (desk.registry, OrderRegistry.restore(desk.registry.snapshot())):
        found = [registry.find("a", name) for name in ("c1", "c2", "c3")]
        assert [r.order_id if r else None for r in found] == [new.order_id] * 3
        assert registry.find("b", "c3") is None, "another account's ids are its own"
    desk.send(CancelOrder(4, "a", new.order_id), "c4")
    finished = desk.registry.find("a", "c4")
    assert finished is not None
    assert finished.order_id == new.order_id


def test_a_refused_replace_adds_no_id() -> None:
    desk = Desk()
    (new,) = desk.send(_limit("a", Side.BUY, 100, 10_000), "c1")
    desk.send(CancelOrder(2, "a", new.order_id), "c2")
    desk.send(ReplaceOrder(3, "a", new.order_id, 10_100, 100), "c3")
    assert desk.registry.find("a", "c3") is None


def test_forgotten_orders_take_their_chain_with_them() -> None:
    desk = Desk()
    desk.registry.finished_kept = 1
    (first,) = desk.send(_limit("a", Side.BUY, 100, 10_000), "c1")
    desk.send(ReplaceOrder(2, "a", first.order_id, 10_100, 100), "c2")
    desk.send(CancelOrder(3, "a", first.order_id), "c3")
    (second,) = desk.send(_limit("a", Side.BUY, 100, 10_000), "d1")
    desk.send(CancelOrder(5, "a", second.order_id), "d2")
    assert [desk.registry.find("a", n) for n in ("c1", "c2", "c3")] == [None] * 3
    assert desk.registry.by_client_id == {
        ("a", "d1"): second.order_id,
        ("a", "d2"): second.order_id,
    }
    assert desk.registry.later_ids == {second.order_id: ["d2"]}
