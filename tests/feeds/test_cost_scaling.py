"""The public market state costs the same per event whether the book holds
1,000 resting orders or 100,000 (issue 15: no consumer's work per event
grows with the size of any state): each command updates a few levels and
checksums the top ten, never the whole book.

The scenario and the measurement are in ``tests/scaling.py``; run with
``-s`` to see the figures (they are in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable

from feeds.market import MarketState, Update
from server.model.sequenced import Sequenced
from tests.scaling import LIMIT, Scenario, measure


def _apply(market: MarketState, batch: list[Sequenced]) -> list[Update]:
    updates: list[Update] = []
    for item in batch:
        updates += market.apply(item.sequence, item.command, item.events)
    return updates


def _market(scenario: Scenario) -> Callable[[list[Sequenced]], object]:
    market = MarketState()
    listed, *orders = scenario.orders
    _apply(market, [listed])
    # The resting orders' events as one command's: the same book, level for
    # level, without 100,000 checksums nobody measures.
    last = orders[-1]
    _apply(market, [last._replace(events=[event for item in orders for event in item.events])])
    _apply(market, scenario.warm_up)
    return lambda batch: _apply(market, batch)


def test_market_states_cost_per_event_does_not_grow_with_the_orders_resting() -> None:
    scaling = measure("MarketState.apply", _market, cycles=300)
    assert scaling.ratio < LIMIT, str(scaling)
