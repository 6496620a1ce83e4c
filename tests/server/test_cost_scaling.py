"""The order registry and the store projector's batch building cost the same
per event whether one account rests 1,000 orders or 100,000 (issue 15: no
consumer's work per event grows with the size of any state).

The projector is measured without a database: its replay of journal records
through the shadow engine, registry and market state into a batch of rows
(what runs on its worker thread); writing the batch is the store's cost.
The scenario and the measurement are in ``tests/scaling.py``; run with
``-s`` to see the figures (they are in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable

from feeds.market import MarketState
from matching import Engine
from server.consumers.projector import _project
from server.consumers.sources import Shadow
from server.model.registry import OrderRegistry
from server.model.sequenced import Sequenced
from server.store.batch import AuditChain, BarBook, ProjectionBatch
from tests.scaling import LIMIT, Scenario, measure


def _registry(scenario: Scenario) -> Callable[[list[Sequenced]], object]:
    registry = OrderRegistry()
    registry.apply(scenario.setup)
    return registry.apply


def test_the_registrys_cost_per_event_does_not_grow_with_the_orders_resting() -> None:
    scaling = measure("OrderRegistry.apply", _registry)
    assert scaling.ratio < LIMIT, str(scaling)


def _projector(scenario: Scenario) -> Callable[[list[Sequenced]], object]:
    # As the projector starts from a snapshot (taking one and restoring it
    # would cost more than replaying): the shadow engine, registry and market
    # state with the resting orders, without their rows.
    engine = Engine()
    registry = OrderRegistry(window=1)
    for item in scenario.orders:
        registry.apply([item._replace(events=engine.process(item.command))])
    shadow = Shadow(engine, registry, MarketState.from_engine(engine), scenario.orders[-1].sequence)
    bars, chain = BarBook(), AuditChain()
    _project(shadow, scenario.payloads(scenario.warm_up), bars, chain)
    records = {chunk[0].sequence: scenario.payloads(chunk) for chunk in scenario.chunks(PROJECTED)}

    def project(batch: list[Sequenced]) -> ProjectionBatch:
        return _project(shadow, records[batch[0].sequence], bars, chain)

    return project


PROJECTED = 100
"""Cycles per measured chunk: 900 commands, some 90 ms of replay."""


def test_the_projectors_cost_per_event_does_not_grow_with_the_orders_resting() -> None:
    scaling = measure("projector batch", _projector, cycles=PROJECTED)
    assert scaling.ratio < LIMIT, str(scaling)
