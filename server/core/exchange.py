"""The exchange core: engine, order registry, journal and sequencer.

``ExchangeCore.open`` rebuilds the engine from the newest snapshot plus the
journal after it, checks that the restored engine has the hash recorded with
the snapshot, and positions the journal writer after the last record. While
running it snapshots every ``snapshot_every`` commands, starts a new journal
segment there, and prunes what no recovery can need any more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from feeds.market import MarketState, Update
from matching import AddInstrument, Engine, Instrument, TradingPhase
from matching.snapshot import take_snapshot
from matching.state import digest
from server.core.sequencer import Sequencer
from server.journal import Durability, JournalWriter, prune, recover, write_snapshot
from server.model.registry import OrderRegistry, Report
from server.model.sequenced import Sequenced
from server.model.state import RecoveryError, State, publish
from server.runtime import in_forked_child

_log = logging.getLogger(__name__)

__all__ = ["ExchangeCore", "Recovered", "RecoveryError"]


@dataclass
class Recovered:
    snapshot_sequence: int
    replayed: int
    last_sequence: int
    truncated: str | None


class ExchangeCore:
    def __init__(
        self,
        directory: Path,
        sequencer: Sequencer,
        registry: OrderRegistry,
        market: MarketState,
        writer: JournalWriter,
        snapshot_every: int,
        recovered: Recovered,
    ) -> None:
        self.directory = directory
        self.sequencer = sequencer
        self.registry = registry
        self.market = market
        """Public market data as of the last committed command."""
        self.writer = writer
        self.snapshot_every = snapshot_every
        self.recovered = recovered
        self._since_snapshot = 0
        self._snapshotter: asyncio.Task[None] | None = None
        self.needed_from: Callable[[], int] | None = None
        """The last record a reader behind the engine (the projector) has;
        pruning keeps every record after it and a snapshot before it."""
        self.report_listeners: list[Callable[[list[Report]], None]] = []
        """Called with each committed batch's reports (the order streams)."""
        self.market_listeners: list[Callable[[list[Update]], None]] = []
        """Called with each committed batch's market data updates (the feeds)."""
        sequencer.add_listener(self._apply)
        sequencer.add_listener(self._count)

    @property
    def engine(self) -> Engine:
        return self.sequencer.engine

    @classmethod
    def open(
        cls,
        directory: Path,
        instruments: Iterable[Instrument],
        *,
        durability: Durability = Durability.BATCH,
        fsync_interval: float = 0.005,
        snapshot_every: int = 1_000_000,
        clock: Callable[[], int] | None = None,
    ) -> ExchangeCore:
        recovery = recover(directory)
        state = State.restore(recovery.snapshot)
        base = state.sequence
        state.replay(recovery.records)
        state.check_market()
        engine, registry, market = state.engine, state.registry, state.market
        writer = JournalWriter(
            directory,
            next_sequence=recovery.last_sequence + 1,
            durability=durability,
            fsync_interval=fsync_interval,
        )
        options = {} if clock is None else {"clock": clock}
        sequencer = Sequencer(engine, writer, last_sequence=recovery.last_sequence, **options)
        recovered = Recovered(
            base, len(recovery.records), recovery.last_sequence, recovery.truncated
        )
        _log.info(
            "recovered: snapshot at %d, %d records replayed, last sequence %d",
            base,
            len(recovery.records),
            recovery.last_sequence,
            extra={"sequence": recovery.last_sequence},
        )
        core = cls(directory, sequencer, registry, market, writer, snapshot_every, recovered)
        core._add_missing_instruments(instruments)
        return core

    def _add_missing_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Configured instruments enter through the journal like any command,
        so a replay without the configuration still rebuilds them."""
        for instrument in instruments:
            if instrument.symbol not in self.engine.books:
                self.sequencer.submit(
                    AddInstrument(self.sequencer.now(), instrument, TradingPhase.CONTINUOUS)
                )

    def _apply(self, batch: list[Sequenced]) -> None:
        publish(batch, self.market, self.registry, self.market_listeners, self.report_listeners)

    def _count(self, batch: list[Sequenced]) -> None:
        self._since_snapshot += len(batch)
        if self._since_snapshot >= self.snapshot_every and self._snapshotter is None:
            self._since_snapshot = 0
            self._snapshotter = asyncio.get_running_loop().create_task(self._snapshot_forked())

    def snapshot(self) -> Path:
        """Write the engine's state as of the last applied command, here and now.

        Runs between commands on the event loop, so the state cannot change
        under it; the journal is flushed and rolled first so the snapshot and
        the segments after it line up. Used at shutdown; while trading,
        ``_snapshot_forked`` does the same work in a child process.
        """
        sequence = self.sequencer.sequence
        self.writer.roll()
        path = self._write_snapshot(sequence)
        self._prune()
        self._since_snapshot = 0
        return path

    def _write_snapshot(self, sequence: int) -> Path:
        engine_state = take_snapshot(self.engine)
        data = {
            "engine": engine_state,
            "orders": self.registry.snapshot(),
            "market": self.market.snapshot(),
        }
        return write_snapshot(self.directory, sequence, digest(engine_state), data)

    def _prune(self) -> None:
        needed = None if self.needed_from is None else self.needed_from()
        prune(self.directory, needed_from=needed)

    async def _snapshot_forked(self) -> None:
        """Snapshot without stopping trading, the way Redis saves in the background.

        The parent only rolls the journal (cheap) and forks; the child holds
        a copy-on-write image of the state as of that command, serialises it,
        writes it atomically and exits without touching anything else
        (no gRPC, no event loop, no logging). The parent reaps it off the loop.
        """
        try:
            sequence = self.sequencer.sequence
            self.writer.roll()
            if not await in_forked_child(lambda: self._write_snapshot(sequence)):
                _log.error("background snapshot at %d failed", sequence)
                return
            self._prune()
            _log.info("snapshot at sequence %d written in the background", sequence)
        finally:
            self._snapshotter = None

    async def settle(self) -> None:
        """Wait for a background snapshot in progress, if any."""
        if self._snapshotter is not None:
            await self._snapshotter

    async def start(self) -> None:
        await self.writer.start()

    async def close(self, final_snapshot: bool = True) -> None:
        await self.sequencer.durable()
        await self.settle()
        if final_snapshot:
            self.snapshot()
        await self.writer.close()
