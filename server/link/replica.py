"""A process's own copy of the exchange state, kept by re-applying the core's records.

Gateways need the engine's state (reference data, risk ledgers, books, the
order registry for queries and resume), market data needs the public
books, surveillance needs the events: rather than the core encoding events
for each of them, each keeps a replica and re-applies the committed command
records with the code recovery uses (``State``). The engine is
deterministic, so a replica at sequence N has the core's ``state_hash`` at
N; applying costs the replica's process, never the core's.

``Replica`` offers what the gRPC services read from an ``ExchangeCore``
(``engine``, ``registry``, ``market``, ``sequencer``, ``report_listeners``,
``market_listeners``), so they run on either unchanged; its ``sequencer``
is a ``RemoteSequencer`` in a gateway, None in a consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from feeds.market import Update
from server.journal.snapshots import load_latest_snapshot
from server.model.registry import Report
from server.model.sequenced import Sequenced
from server.model.state import State, publish
from server.model.view import SequencerView

BatchListener = Callable[[list[Sequenced]], object]


class Replica(State):
    def __init__(self, state: State, *, market: bool = True, registry: bool = True) -> None:
        super().__init__(state.engine, state.registry, state.market, state.sequence)
        self.keeps_market = market
        self.keeps_registry = registry
        """What this replica keeps up to date besides the engine. The market
        state and the registry each cost a replica as much as the engine
        (their share of the feed process under a batched load: 20% and 22%);
        a process that never reads one (surveillance reads neither, market
        data no registry) leaves it as the snapshot had it, and must not
        read it."""
        self._sequencer: SequencerView | None = None
        self.report_listeners: list[Callable[[list[Report]], None]] = []
        """Called with each committed batch's reports (the order streams)."""
        self.market_listeners: list[Callable[[list[Update]], None]] = []
        """Called with each committed batch's market data updates (the feeds)."""
        self.batch_listeners: list[BatchListener] = []
        """Called with each committed batch, as ``Sequencer`` listeners are."""
        self.reset_listeners: list[Callable[[], None]] = []
        """Called when the replica was rebuilt from a snapshot, skipping records
        its listeners never saw (market data then publishes a gap)."""

    @property
    def sequencer(self) -> SequencerView:
        """The gateway's ``RemoteSequencer``; a consumer's replica has none."""
        if self._sequencer is None:
            raise RuntimeError("this replica takes no commands: no RemoteSequencer is attached")
        return self._sequencer

    def attach(self, sequencer: SequencerView) -> None:
        self._sequencer = sequencer

    @classmethod
    def open(cls, directory: Path, *, market: bool = True, registry: bool = True) -> Replica:
        """The state of the newest snapshot in ``directory`` (the empty exchange
        without one), keeping the market state and the registry up to date
        if asked. Records after it come from ``CoreClient``'s catch-up,
        which reads no further than the core has committed."""
        state = State.restore(load_latest_snapshot(directory))
        return cls(state, market=market, registry=registry)

    def reset(self, directory: Path) -> None:
        """Start again from the newest snapshot: the journal no longer holds
        the records after this replica's sequence. The registry is refilled in
        place, since services hold it; engine and market are replaced."""
        fresh = State.restore(load_latest_snapshot(directory))
        self.engine = fresh.engine
        self.market = fresh.market
        self.registry.take_over(fresh.registry)
        self.sequence = fresh.sequence
        for listener in self.reset_listeners:
            listener()

    def apply(self, sequence: int, payloads: list[bytes]) -> list[Sequenced]:
        """A committed batch, from its first ``sequence``: applied to the engine,
        then the market state and registry, and handed to every listener."""
        process = self.process
        batch = [process(number, payload)[0] for number, payload in enumerate(payloads, sequence)]
        publish(
            batch,
            self.market if self.keeps_market else None,
            self.registry if self.keeps_registry else None,
            self.market_listeners,
            self.report_listeners,
        )
        for listener in self.batch_listeners:
            listener(batch)
        return batch
