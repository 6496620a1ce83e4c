"""What the state hash, snapshots and self-checks read of an engine.

``state.py``, ``capture.py`` and ``risk_snapshot.py`` only look at an
engine's public attributes; typing them against this protocol rather than
``Engine`` lets the engine import them (for ``state_hash`` and
``check_invariants``) without an import cycle. It costs nothing at run time:
the engine's attributes stay plain attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from matching.book import AccountOrders, Counters, Order, OrderBook
    from matching.commands import ConfigureControls
    from matching.order_index import OrderIndex
    from matching.protection import MarketIndex
    from matching.risk import RiskBook
    from matching.stops import PendingStop


class EngineView(Protocol):
    """The engine's state, read-only (``matching.engine.Engine`` has it all)."""

    @property
    def books(self) -> dict[str, OrderBook]: ...
    @property
    def orders(self) -> OrderIndex[Order]: ...
    @property
    def stops(self) -> dict[int, PendingStop]: ...
    @property
    def accounts(self) -> dict[str, AccountOrders]: ...
    @property
    def counters(self) -> Counters: ...
    @property
    def expiries(self) -> list[tuple[int, int]]: ...
    @property
    def now(self) -> int: ...
    @property
    def risk(self) -> RiskBook: ...
    @property
    def controls(self) -> ConfigureControls: ...
    @property
    def breakers_tripped(self) -> int: ...
    @property
    def index(self) -> MarketIndex: ...
    @property
    def schedule(self) -> list[tuple[int, str]]: ...
