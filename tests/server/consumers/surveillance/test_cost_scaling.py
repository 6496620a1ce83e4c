"""Each detector, and the alert desk as a whole, costs the same per event
whether one account rests 1,000 orders or 100,000 (issue 15: no consumer's
work per event grows with the size of any state).

The scenario and the measurement are in ``tests/scaling.py``; run with
``-s`` to see the figures (they are in docs/performance.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.consumers.surveillance import AlertKind, Surveillance, SurveillanceConfig
from server.consumers.surveillance.desk import AlertDesk
from server.model.alerts import Alert
from server.model.sequenced import Sequenced
from server.store import open_store
from tests.scaling import (
    CYCLES,
    LIMIT,
    OWNERS,
    SMALL,
    TICK,
    Prepare,
    Scenario,
    measure,
    scenario,
)


def _surveillance(kinds: frozenset[AlertKind], scenario: Scenario) -> Surveillance:
    """The detectors of ``kinds``, past the scenario's setup."""
    surveillance = Surveillance(
        SurveillanceConfig(enabled=kinds), OWNERS.get, tick_size_of=lambda _: TICK
    )
    surveillance.observe(scenario.setup)
    return surveillance


@pytest.mark.parametrize(
    "kind",
    [
        AlertKind.LAYERING,
        AlertKind.SPOOFING,
        AlertKind.WASH_TRADE,
        AlertKind.ORDER_TO_TRADE_RATIO,
        AlertKind.ABNORMAL_PRICE_MOVE,
    ],
    ids=lambda kind: kind.name.lower(),
)
def test_a_detectors_cost_per_event_does_not_grow_with_the_orders_resting(
    kind: AlertKind,
) -> None:
    scaling = measure(
        kind.name.lower(), lambda scenario: _surveillance(frozenset({kind}), scenario).observe
    )
    assert scaling.ratio < LIMIT, str(scaling)


def test_the_scenario_exercises_every_detector() -> None:
    """The measured cycle raises each kind of alert it is meant to, so the
    ratios above time the detectors' real work, not their early returns."""
    surveillance = _surveillance(SurveillanceConfig().enabled, scenario(SMALL))
    raised = surveillance.observe(scenario(SMALL).chunks(CYCLES)[0])
    assert {alert.kind for alert in raised} >= {
        AlertKind.LAYERING,
        AlertKind.SPOOFING,
        AlertKind.WASH_TRADE,
    }


class _Desk:
    """An alert desk over a SQLite store, on an event loop of its own that
    runs while a batch is handed over and its alerts come back."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = self.loop.run_until_complete(open_store(f"sqlite:///{path}"))
        self.desk = AlertDesk(self.store, OWNERS.get, lambda _: TICK)
        self.loop.run_until_complete(self._start())
        self.alerts = self.desk.subscribe()

    async def _start(self) -> None:
        self.desk.start()

    def feed(self, batch: list[Sequenced]) -> list[Alert]:
        """Hand ``batch`` to the desk (as the sequencer's listener does) and
        wait for the alerts it raises (every chunk of the scenario raises some)."""
        self.desk.listen(batch)
        return self.loop.run_until_complete(self._raised())

    async def _raised(self) -> list[Alert]:
        raised = [await self.alerts.get()]
        while not self.alerts.empty():
            raised.append(self.alerts.get_nowait())
        alerts = [alert for alert in raised if alert is not None]
        assert len(alerts) == len(raised), "the test's subscriber was left behind"
        return alerts

    def close(self) -> None:
        self.loop.run_until_complete(self.desk.stop())
        self.loop.run_until_complete(self.store.close())
        self.loop.close()


@pytest.fixture
def desks(tmp_path: Path) -> Iterator[Prepare]:
    opened: list[_Desk] = []

    def prepare(scenario: Scenario) -> Callable[[list[Sequenced]], object]:
        desk = _Desk(tmp_path / f"alerts-{scenario.resting}.db")
        opened.append(desk)
        desk.feed(scenario.setup)
        return desk.feed

    yield prepare
    for desk in opened:
        desk.close()


def test_the_alert_desks_cost_per_event_does_not_grow_with_the_orders_resting(
    desks: Prepare,
) -> None:
    """Every detector, the hand-off and the store's writes of the alerts."""
    scaling = measure("alert desk", desks, cycles=200)
    assert scaling.ratio < LIMIT, str(scaling)
