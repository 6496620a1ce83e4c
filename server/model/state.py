"""The exchange's state at a sequence, rebuilt from a snapshot and the journal.

Every process that holds state gets it the same way: the core at start-up
(``ExchangeCore.open``), the projector's shadow, and each replica behind the
link (gateways, market data, surveillance). Restoring the engine, the order
registry and the market state from a snapshot and re-applying journal
records is therefore one function here, so that they can never disagree on
what a record does: a replica is checkable against the core by
``engine.state_hash()`` only because it runs exactly this code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from feeds.market import MarketState, Update
from matching import Engine
from matching.snapshot import restore_snapshot
from server.journal.codec import Origin, decode_with_origin
from server.model.registry import REPORT_WINDOW, OrderRegistry, Report
from server.model.sequenced import Sequenced


class RecoveryError(RuntimeError):
    """The recovered state is not the state that was recorded."""


class State:
    """An engine, its order registry and its market data after ``sequence``."""

    def __init__(
        self, engine: Engine, registry: OrderRegistry, market: MarketState, sequence: int
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.market = market
        self.sequence = sequence

    @classmethod
    def restore(cls, snapshot: dict[str, Any] | None, *, window: int = REPORT_WINDOW) -> State:
        """The state a snapshot (as ``load_latest_snapshot`` returns it) holds,
        or the empty exchange; ``RecoveryError`` if the engine it restores
        does not have the hash recorded with it. ``window`` is the registry's
        reports kept per account (1 for readers that never resume a client)."""
        if snapshot is None:
            return cls(Engine(), OrderRegistry(window=window), MarketState(), 0)
        data = snapshot["data"]
        engine = restore_snapshot(data["engine"])
        if engine.state_hash() != snapshot["state_hash"]:
            raise RecoveryError(f"snapshot {snapshot['sequence']} restores to a different state")
        # Snapshots from before market data have none: start it from the books.
        market = (
            MarketState.restore(data["market"])
            if "market" in data
            else MarketState.from_engine(engine)
        )
        registry = OrderRegistry.restore(data["orders"], window=window)
        return cls(engine, registry, market, int(snapshot["sequence"]))

    def process(self, sequence: int, payload: bytes) -> tuple[Sequenced, Origin | None]:
        """Apply one journal record to the engine alone: the command applied
        (its payload kept) and who sent it."""
        if sequence != self.sequence + 1:
            raise ValueError(f"record {sequence} does not follow {self.sequence}")
        command, client_order_id, origin = decode_with_origin(payload)
        applied = Sequenced(
            sequence, command, self.engine.process(command), client_order_id, payload
        )
        self.sequence = sequence
        return applied, origin

    def step(self, sequence: int, payload: bytes) -> tuple[Sequenced, list[Report], Origin | None]:
        """Apply one journal record to the engine and the registry (not to the
        market state: the projector reads the market as it was before the
        record); the command applied, its reports and who sent it."""
        applied, origin = self.process(sequence, payload)
        return applied, self.registry.apply([applied]), origin

    def replay(self, records: Iterable[tuple[int, bytes]]) -> None:
        """Apply journal records in order, market state included, reporting nothing."""
        market = self.market
        for sequence, payload in records:
            applied, _, _ = self.step(sequence, payload)
            market.apply(sequence, applied.command, applied.events)

    def check_market(self) -> None:
        """``RecoveryError`` unless the market data matches the books."""
        if not self.market.matches_engine(self.engine):
            raise RecoveryError("the recovered market data differs from the recovered books")


def publish(
    batch: list[Sequenced],
    market: MarketState | None,
    registry: OrderRegistry | None,
    market_listeners: Sequence[Callable[[list[Update]], None]],
    report_listeners: Sequence[Callable[[list[Report]], None]],
) -> None:
    """A committed batch into the market state and the registry, and their
    updates and reports to the listeners: the same step on the core and on
    every replica, so a gateway's order streams and market data see exactly
    what an in-process server's do. A replica that keeps no market state or
    no registry passes None for it."""
    if market is not None:
        apply_market = market.apply
        if market_listeners:
            updates: list[Update] = []
            for item in batch:
                updates += apply_market(item.sequence, item.command, item.events)
            if updates:
                for send in market_listeners:
                    send(updates)
        else:
            for item in batch:
                apply_market(item.sequence, item.command, item.events, False)
    if registry is None:
        return
    reports = registry.apply(batch)
    if reports:
        for listener in report_listeners:
            listener(reports)
