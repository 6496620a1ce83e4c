"""Market surveillance: committed engine events in, alerts out.

``Surveillance.observe`` reads each committed batch after the sequencer's
listeners get it, off the hot path, and returns the alerts it raised. It is
pure: no I/O, no asyncio, no clock (time is each command's timestamp), so
the same batches always give the same alerts and replaying the journal tail
rebuilds the detectors' state. Every window is pruned by that time and
per-account state is dropped once empty, so memory follows recent activity.

The rules (thresholds in ``SurveillanceConfig``; defaults in brackets):

- **Spoofing** (``spoofing.py``, HIGH): an account enters large resting limit
  orders -- visible quantity at least 5 times the symbol's typical visible
  size, or at least 50,000 shares -- within 2 ticks of the best price on
  their side, and cancels each unfilled within 5 s; 3 such orders in one
  symbol within 60 s raise an alert.
- **Layering** (``layering.py``, HIGH): an account holding open orders at
  3 or more prices on one side (entered within the last 30 s, totalling at
  least 4 times its own quantity on the other side) trades on the other
  side, then cancels layers at 3 or more prices within 10 s of that
  trade.
- **Wash trade** (``wash.py``; HIGH, MEDIUM for one account against itself):
  a trade whose buyer and seller are the same account or accounts with the
  same owner (``owner_of``); one alert per command, account pair and symbol.
- **Order-to-trade ratio** (``ratio.py``; MEDIUM, HIGH from 4 times the
  threshold): per account, in tumbling 60 s windows, at least 100 orders
  (new and replaced) and at least 50 orders per trade.
- **Abnormal price move** (``price_move.py``; MEDIUM, HIGH from twice the
  threshold): a trade more than 500 bps (5%) from the symbol's price 5
  minutes earlier; one alert per symbol per 5 minutes.

Dispatch is by event type: each detector names the events it reads, and an
event costs one dict lookup plus its handlers; ``begin``/``end`` hooks run
only for detectors that define them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from server.consumers.surveillance.base import Detector, Handler
from server.consumers.surveillance.config import SurveillanceConfig
from server.consumers.surveillance.layering import LayeringDetector
from server.consumers.surveillance.price_move import PriceMoveDetector
from server.consumers.surveillance.ratio import OrderToTradeRatioDetector
from server.consumers.surveillance.spoofing import SpoofingDetector
from server.consumers.surveillance.wash import WashTradeDetector
from server.model.alerts import Alert, AlertKind
from server.model.sequenced import Sequenced


def _unknown_tick(_symbol: str) -> int | None:
    return None


class Surveillance:
    """All enabled detectors over one stream of committed batches.

    ``owner_of`` maps an account to the id of the user who owns it (None if
    unknown); it is called for the accounts of trades, so it should be a
    lookup, not a query. ``tick_size_of`` gives a symbol's tick size (None if
    unknown); ``AddInstrument`` commands teach it too, and
    ``config.default_tick_size`` covers the rest.
    """

    def __init__(
        self,
        config: SurveillanceConfig,
        owner_of: Callable[[str], str | None],
        *,
        tick_size_of: Callable[[str], int | None] = _unknown_tick,
    ) -> None:
        self.config = config
        enabled = config.enabled
        detectors: list[Detector] = []
        if AlertKind.SPOOFING in enabled:
            detectors.append(SpoofingDetector(config, tick_size_of))
        if AlertKind.LAYERING in enabled:
            detectors.append(LayeringDetector(config))
        if AlertKind.WASH_TRADE in enabled:
            detectors.append(WashTradeDetector(config, owner_of))
        if AlertKind.ORDER_TO_TRADE_RATIO in enabled:
            detectors.append(OrderToTradeRatioDetector(config))
        if AlertKind.ABNORMAL_PRICE_MOVE in enabled:
            detectors.append(PriceMoveDetector(config))
        on: dict[type[Any], list[Handler]] = {}
        for detector in detectors:
            for event_type, handler in detector.handlers().items():
                on.setdefault(event_type, []).append(handler)
        self._on = {event_type: tuple(handlers) for event_type, handlers in on.items()}
        self._detectors = tuple(detectors)
        self._begin = tuple(
            detector.begin for detector in detectors if type(detector).begin is not Detector.begin
        )
        self._end = tuple(
            detector.end for detector in detectors if type(detector).end is not Detector.end
        )

    def tracked(self) -> int:
        """Orders, accounts and episodes held now, beyond per-symbol state; it
        falls to 0 once every window has passed without activity."""
        return sum(detector.tracked() for detector in self._detectors)

    def observe(self, batch: Sequence[Sequenced]) -> list[Alert]:
        """The alerts raised by ``batch`` (commands in sequence order), in the
        order they were raised."""
        alerts: list[Alert] = []
        on = self._on
        begin = self._begin
        end = self._end
        for item in batch:
            command = item.command
            now = command.timestamp
            for hook in begin:
                hook(command, now, alerts)
            for event in item.events:
                handlers = on.get(type(event))
                if handlers is not None:
                    for handler in handlers:
                        handler(event, now, alerts)
            for finish in end:
                finish(now, alerts)
        return alerts
