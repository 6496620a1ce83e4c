"""The order index against a dict: same contents after any sequence of adds
and removes, whatever the ids (consecutive, colliding, beyond 30 and 64 bits)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.book import Order
from matching.enums import SelfTradePrevention, TimeInForce
from matching.order_index import OrderIndex


def _item(order_id: int, quantity: int) -> Order:
    """An order, told apart from another with the same id by its quantity
    (compiled, the index's classes take no interpreted subclass)."""
    return Order(order_id, "ACC", quantity, 0, TimeInForce.GTC, SelfTradePrevention.NONE, False, 0)


def _check_against(index: OrderIndex[Order], model: dict[int, Order], probes: list[int]) -> None:
    assert len(index) == len(model)
    assert index.ids() == sorted(model)
    assert [item.order_id for item in index.orders()] == sorted(model)
    for order_id in probes:
        assert index.get(order_id) is model.get(order_id)
        assert (order_id in index) == (order_id in model)


_ids = st.one_of(
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=1, max_value=2**40),
    # Multiples of a power of two share a home slot in every small table.
    st.integers(min_value=1, max_value=64).map(lambda k: k << 32),
    st.integers(min_value=2**62, max_value=2**70),
)
_operations = st.lists(st.tuples(st.booleans(), _ids), max_size=300)


@settings(max_examples=300, deadline=None)
@given(_operations)
def test_it_holds_what_a_dict_holds(operations: list[tuple[bool, int]]) -> None:
    index: OrderIndex[Order] = OrderIndex()
    model: dict[int, Order] = {}
    for step, (adding, order_id) in enumerate(operations):
        if adding:
            item = _item(order_id, step + 1)
            index.add(item)
            model[order_id] = item
        elif order_id in model:
            assert index.remove(order_id) is model.pop(order_id)
        else:
            with pytest.raises(KeyError):
                index.remove(order_id)
    _check_against(index, model, [order_id for _, order_id in operations])


def test_a_long_run_of_consecutive_ids_then_misses_and_removals() -> None:
    """Sequential ids as the engine issues them; half leave in an order
    unrelated to their slots, and lookups of departed ids still end."""
    index: OrderIndex[Order] = OrderIndex()
    model: dict[int, Order] = {}
    for order_id in range(1, 20_001):
        item = _item(order_id, 1)
        index.add(item)
        model[order_id] = item
    for order_id in list(model)[::3] + list(model)[1::7]:
        if order_id in model:
            assert index.remove(order_id) is model.pop(order_id)
    _check_against(index, model, list(range(0, 20_010)))


def test_adding_an_id_again_replaces_the_order() -> None:
    index: OrderIndex[Order] = OrderIndex()
    first, second = _item(7, 1), _item(7, 2)
    index.add(first)
    index.add(second)
    assert len(index) == 1
    assert index[7] is second
    with pytest.raises(KeyError):
        index[8]
