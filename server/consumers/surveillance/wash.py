"""Wash trades: the buyer and the seller are the same beneficial owner.

Such a trade changes no one's position and only paints the tape. A trade
counts when both sides are the same account (it traded with itself: no
self-trade prevention stopped it) or when ``owner_of`` names the same user
for both accounts. Trades of one command between the same two accounts in
one symbol (an aggressive order sweeping its owner's resting orders) make a
single alert. Same owner, different accounts is HIGH: it needs deliberate
routing; one account against itself is MEDIUM, often a missing self-trade
prevention setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from matching import Trade
from server.consumers.surveillance.base import Detector, Handler
from server.consumers.surveillance.config import SurveillanceConfig
from server.model.alerts import (
    Alert,
    AlertKind,
    AlertSeverity,
    details,
    format_price,
)


class _Wash:
    __slots__ = ("order_ids", "owner", "prices", "quantity", "trade_ids")

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.trade_ids: list[int] = []
        self.order_ids: dict[int, None] = {}
        self.prices: list[int] = []
        self.quantity = 0


class WashTradeDetector(Detector):
    def __init__(self, config: SurveillanceConfig, owner_of: Callable[[str], str | None]) -> None:
        self._config = config
        self._owner_of = owner_of
        self._found: dict[tuple[str, str, str], _Wash] = {}
        """Wash trades of the current command by (buy account, sell account, symbol)."""

    def handlers(self) -> Mapping[type[Any], Handler]:
        return {Trade: self._trade}

    def _trade(self, event: Trade, now: int, out: list[Alert]) -> None:
        buyer, seller = event.buy_account, event.sell_account
        owner_of = self._owner_of
        owner = owner_of(buyer) or ""
        if buyer != seller and (not owner or owner != owner_of(seller)):
            return
        key = (buyer, seller, event.symbol)
        wash = self._found.get(key)
        if wash is None:
            wash = self._found[key] = _Wash(owner)
        wash.trade_ids.append(event.trade_id)
        wash.order_ids[event.buy_order_id] = None
        wash.order_ids[event.sell_order_id] = None
        wash.prices.append(event.price)
        wash.quantity += event.quantity

    def end(self, now: int, out: list[Alert]) -> None:
        if not self._found:
            return
        limit = self._config.max_evidence_ids
        for (buyer, seller, symbol), wash in self._found.items():
            low, high = min(wash.prices), max(wash.prices)
            at = format_price(low) if low == high else f"{format_price(low)}-{format_price(high)}"
            if buyer == seller:
                who = f"account {buyer} traded with itself"
                severity = AlertSeverity.MEDIUM
            else:
                who = f"{buyer} bought from {seller}, both owned by user {wash.owner}"
                severity = AlertSeverity.HIGH
            count = len(wash.trade_ids)
            plural = "trade" if count == 1 else "trades"
            out.append(
                Alert(
                    kind=AlertKind.WASH_TRADE,
                    severity=severity,
                    account=buyer,
                    symbol=symbol,
                    description=(
                        f"Wash trade in {symbol}: {who}; {wash.quantity} shares at {at} "
                        f"in {count} {plural}"
                    ),
                    order_ids=tuple(wash.order_ids)[:limit],
                    trade_ids=tuple(wash.trade_ids[:limit]),
                    start_time=now,
                    end_time=now,
                    details=details(
                        buy_account=buyer,
                        sell_account=seller,
                        quantity=wash.quantity,
                        trades=count,
                        **({"owner": wash.owner} if wash.owner else {}),
                    ),
                    create_time=now,
                )
            )
        self._found.clear()
