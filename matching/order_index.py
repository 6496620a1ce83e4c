"""The engine-wide index of open orders by id, in a third of a dict's memory.

A ``dict[int, Order]`` costs about 73 bytes per open order at a million of
them: 24 for its entry, 8 for its share of the index and 32 for the key, an
``int`` object of its own (the order keeps its id unboxed once compiled, so
the key cannot be shared). This table stores only a pointer to the order,
whose own ``order_id`` is the key: 8 bytes a slot at a load factor between a
quarter and a half, 16-32 bytes per open order.

Open addressing with linear probing; deletion shifts the following entries
back instead of leaving tombstones, so a lookup never walks over dead slots
and the cost per command does not grow with the number of orders that ever
lived. Order ids are issued in sequence, which a plain ``id % size`` would
pack into one long run (a miss would then walk the whole run): Fibonacci
hashing scatters consecutive ids over the table instead.

Iteration is in ascending id order, whatever the table's layout, so that a
snapshot, a state hash or a replay never depends on the history of inserts
and deletes that shaped the table.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

_MINIMUM_BITS: Final = 3
_WORD: Final = 30
"""Ids are folded to 30 bits and hashed in a 30-bit word (``_home``): a
compiled module multiplies unboxed only when both factors are below 2^30, and
a larger factor would make every hash a long-integer multiplication."""


class Indexed:
    """What the index reads of an order: its id. A base class rather than the
    order itself keeps this module free of the book's (compiled, the id is
    still read straight from the object's struct)."""

    __slots__ = ("order_id",)

    order_id: int


_Order = TypeVar("_Order", bound=Indexed)


class OrderIndex(Generic[_Order]):
    """Open orders by id. ``get`` and ``add`` are O(1) expected, ``remove``
    too; ``orders``/``ids`` sort and are meant for snapshots and checks."""

    __slots__ = ("_count", "_mask", "_shift", "_slots")

    def __init__(self) -> None:
        self._slots: list[_Order | None] = [None] * (1 << _MINIMUM_BITS)
        self._mask = (1 << _MINIMUM_BITS) - 1
        self._shift = _WORD - _MINIMUM_BITS
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, order_id: int) -> bool:
        return self.get(order_id) is not None

    def _home(self, order_id: int) -> int:
        # Fibonacci hashing in a 30-bit word: 0x278DDE6D is 2^30 divided by the
        # golden ratio, made odd. Literals, not named constants: the pure build
        # would look each name up in the module's globals on every call.
        folded = (order_id ^ (order_id >> 30)) & 0x3FFFFFFF
        return ((folded * 0x278DDE6D) & 0x3FFFFFFF) >> self._shift

    def get(self, order_id: int) -> _Order | None:
        slots = self._slots
        mask = self._mask
        index = self._home(order_id)
        while True:
            order = slots[index]
            if order is None or order.order_id == order_id:
                return order
            index = (index + 1) & mask

    def __getitem__(self, order_id: int) -> _Order:
        order = self.get(order_id)
        if order is None:
            raise KeyError(order_id)
        return order

    def add(self, order: _Order) -> None:
        """Index ``order`` under its id, in place of any order with that id."""
        slots = self._slots
        mask = self._mask
        order_id = order.order_id
        index = self._home(order_id)
        while True:
            found = slots[index]
            if found is None:
                break
            if found.order_id == order_id:
                slots[index] = order
                return
            index = (index + 1) & mask
        slots[index] = order
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()

    def remove(self, order_id: int) -> _Order:
        """Unindex and return the order with ``order_id``; KeyError if none."""
        slots = self._slots
        mask = self._mask
        hole = self._home(order_id)
        while True:
            order = slots[hole]
            if order is None:
                raise KeyError(order_id)
            if order.order_id == order_id:
                break
            hole = (hole + 1) & mask
        # Backward-shift deletion: pull each later entry of the probe run into
        # the hole unless its home lies cyclically after the hole, where a
        # lookup starting at its home would no longer pass the hole.
        index = hole
        while True:
            index = (index + 1) & mask
            following = slots[index]
            if following is None:
                break
            home = self._home(following.order_id)
            wrapped = index < hole
            stays = (hole < home or home <= index) if wrapped else hole < home <= index
            if not stays:
                slots[hole] = following
                hole = index
        slots[hole] = None
        self._count -= 1
        return order

    def _grow(self) -> None:
        bits = _WORD - self._shift + 1
        old = self._slots
        self._slots = [None] * (1 << bits)
        self._mask = (1 << bits) - 1
        self._shift = _WORD - bits
        self._count = 0
        for order in old:
            if order is not None:
                self.add(order)

    def orders(self) -> list[_Order]:
        """Every open order, in ascending id order."""
        found = [order for order in self._slots if order is not None]
        found.sort(key=_order_id)
        return found

    def ids(self) -> list[int]:
        """Every open order's id, ascending."""
        return sorted(order.order_id for order in self._slots if order is not None)


def _order_id(order: Indexed) -> int:
    return order.order_id
