"""A replica keeps the market state and the registry only where its process
reads them; the engine always."""

from __future__ import annotations

from pathlib import Path

from matching import AddInstrument, TradingPhase
from server.bench.workload import generate, instruments
from server.journal.codec import encode
from server.link.replica import Replica


def _payloads(count: int) -> list[bytes]:
    setup = [AddInstrument(0, instrument, TradingPhase.CONTINUOUS) for instrument in instruments()]
    return [encode(command, f"c{n}" if n else "") for n, command in enumerate(
        [*setup, *generate(count, seed=3)]
    )]  # fmt: skip


def test_a_replica_without_market_or_registry_still_keeps_the_engine(tmp_path: Path) -> None:
    payloads = _payloads(2_000)
    full = Replica.open(tmp_path)
    engine_only = Replica.open(tmp_path, market=False, registry=False)
    updates: list[object] = []
    reports: list[object] = []
    engine_only.market_listeners.append(updates.append)
    engine_only.report_listeners.append(reports.append)
    for start in range(0, len(payloads), 100):
        full.apply(start + 1, payloads[start : start + 100])
        engine_only.apply(start + 1, payloads[start : start + 100])
    assert engine_only.engine.state_hash() == full.engine.state_hash()
    assert engine_only.sequence == full.sequence == len(payloads)
    # Nothing was kept or published for the parts it does not keep.
    assert updates == []
    assert reports == []
    assert engine_only.registry.orders == {}
    assert full.registry.orders
    assert engine_only.market.snapshot() != full.market.snapshot()
