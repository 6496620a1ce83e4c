"""``stx simulate``: a seeded market that keeps books and trades alive.

Market makers quote both sides at once (a bid and an offer of the same size,
a few ticks either side of a fair value that drifts by random ticks) and
withdraw their oldest quotes as they re-quote; takers cross the spread with
IOC orders. Two-sided quotes are what keeps a market maker balanced, and
surveillance tells it from layering by that balance. Everything goes through
the public gRPC API, like any client.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from stocktraderx.v1 import common_pb2

from clients.money import format_price
from clients.sdk import AsyncExchangeClient, ExchangeError, place_request
from clients.transport import ClientTls

SIMULATOR_CASH = 100_000_000_0000
"""Cash each simulated account is topped up to (in 0.0001 units): 100 million."""


@dataclass
class Market:
    symbol: str
    tick: int
    fair: int
    quotes: deque[tuple[str, list[int]]] = field(default_factory=deque)
    """(account, order ids of the bid and the offer still resting) of each
    two-sided quote, oldest first."""


QUOTE_VALUE = 20_000_0000
"""About what one unit of a simulated order is worth (in 0.0001 units): 20,000."""


def order_unit(fair: int) -> int:
    """Shares per unit of a simulated order: the power of ten closest below
    ``QUOTE_VALUE`` at ``fair`` (100 shares of a 190.00 stock, 1 share of a
    650,000.00 one), so every instrument trades sizes its price makes sense of."""
    unit = 1
    while unit * 10 * fair <= QUOTE_VALUE:
        unit *= 10
    return unit


@dataclass
class Tally:
    sent: int = 0
    refused: int = 0
    filled: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    """Refusals by the exchange's reason (its ErrorInfo reason, else the status)."""

    def summary(self) -> str:
        reasons = ", ".join(f"{name} {count}" for name, count in self.reasons.most_common())
        return (
            f"sent {self.sent} orders, {self.refused} refused"
            + (f" ({reasons})" if reasons else "")
            + f", {self.filled} fills"
        )


OUTAGE_PATIENCE = 30.0
"""Seconds the exchange may stay unavailable before the simulator gives up:
long enough for a restarted process of `stx serve` to come back, short
enough that a simulator whose server is gone does not linger."""


class Outage:
    """How long the exchange has been unavailable without a break."""

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._since: float | None = None

    def exhausted(self, now: float) -> bool:
        """Note one more failure at ``now``: whether the outage has now
        lasted longer than the patience."""
        if self._since is None:
            self._since = now
        return now - self._since > self.patience

    def clear(self) -> None:
        """The exchange answered: a later failure starts a new outage."""
        self._since = None


async def simulate(
    target: str,
    *,
    seed: int = 1,
    rate: float = 200.0,
    duration: float | None = None,
    makers: int = 3,
    takers: int = 2,
    say: Callable[[str], None] = print,
    token: str | None = None,
    tls: ClientTls | None = None,
) -> Tally:
    """``token`` must allow trading on the simulator's accounts (MM*, TK*) and
    preparing them (limits and cash): an administrator's when sign-in is
    required."""
    rng = random.Random(seed)
    tally = Tally()
    # Client order ids are kept for good: a second run (or a restart under
    # `stx serve --simulate`) with the same seed must not reuse the first's.
    run = uuid.uuid4().hex[:8]
    async with AsyncExchangeClient(target, token=token, tls=tls) as client:
        markets = [
            Market(item.symbol, item.tick_size, item.reference_price or 100 * item.tick_size)
            for item in await client.instruments()
            if item.lot_size == 1
        ]
        if not markets:
            raise ExchangeError(grpc.StatusCode.FAILED_PRECONDITION, "no instruments to trade")
        accounts = [f"MM{n}" for n in range(makers)] + [f"TK{n}" for n in range(takers)]
        for account in accounts:
            await client.prepare_account(account, SIMULATOR_CASH, "market simulator")
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_report = started + 5
        counter = 0
        outage = Outage(OUTAGE_PATIENCE)
        while duration is None or loop.time() - started < duration:
            market = markets[rng.randrange(len(markets))]
            counter += 1
            try:
                await _act(client, rng, market, makers, takers, f"{run}-{counter}", tally)
            except ExchangeError as error:
                if error.code is not grpc.StatusCode.UNAVAILABLE or outage.exhausted(loop.time()):
                    raise
                await asyncio.sleep(0.5)
                continue
            outage.clear()
            if loop.time() >= next_report:
                next_report += 5
                prices = ", ".join(f"{m.symbol} {format_price(m.fair)}" for m in markets[:4])
                say(f"simulate: {tally.sent} orders, {tally.filled} fills; fair {prices}")
            await asyncio.sleep(rng.expovariate(rate))
    return tally


async def _act(
    client: AsyncExchangeClient,
    rng: random.Random,
    market: Market,
    makers: int,
    takers: int,
    counter: str,
    tally: Tally,
) -> None:
    roll = rng.random()
    if roll < 0.05:
        market.fair = max(market.tick, market.fair + market.tick * rng.choice((-1, 1)))
    if len(market.quotes) > 20 or (market.quotes and roll < 0.3):
        account, order_ids = market.quotes.popleft()
        for order_id in order_ids:
            # The quote may have traded away already: nothing to cancel then.
            with contextlib.suppress(ExchangeError):
                await client.cancel(order_id, account)
        return
    if roll < 0.8:
        account = f"MM{rng.randrange(makers)}"
        offset = market.tick * rng.randint(1, 5)
        quantity = order_unit(market.fair) * rng.randint(1, 5)
        resting = []
        for side, price in (("buy", market.fair - offset), ("sell", market.fair + offset)):
            placed = await _place(
                client, tally, account, f"{account}-{counter}-{side}", market, side, quantity, price
            )
            if placed is not None:
                resting.append(placed)
        if resting:
            market.quotes.append((account, resting))
        return
    account = f"TK{rng.randrange(takers)}"
    side = "buy" if rng.random() < 0.5 else "sell"
    offset = market.tick * rng.randint(1, 3)
    price = market.fair + offset if side == "buy" else market.fair - offset
    quantity = order_unit(market.fair) * rng.randint(1, 3)
    await _place(client, tally, account, f"{account}-{counter}", market, side, quantity, price)


async def _place(
    client: AsyncExchangeClient,
    tally: Tally,
    account: str,
    client_order_id: str,
    market: Market,
    side: str,
    quantity: int,
    price: int,
) -> int | None:
    """Send one order; the id of what is left resting (makers' quotes), if any."""
    maker = account.startswith("MM")
    request = place_request(
        account,
        client_order_id,
        market.symbol,
        side,
        quantity,
        max(price, market.tick),
        "gtc" if maker else "ioc",
    )
    # As real market makers do: a quote never trades against the same firm's
    # resting quote (surveillance would rightly call that a wash trade).
    request.self_trade_prevention = common_pb2.SELF_TRADE_PREVENTION_CANCEL_RESTING
    tally.sent += 1
    try:
        response = await client.place(request)
    except ExchangeError as error:
        if error.code is grpc.StatusCode.UNAVAILABLE:
            # Not a refusal: the exchange is gone. Counting on would leave a
            # simulator (one `stx serve --simulate` started, say) running
            # forever after its server was killed.
            raise
        tally.refused += 1
        tally.reasons[error.reason or error.code.name] += 1
        return None
    tally.filled += sum(1 for report in response.reports if report.last_quantity)
    if maker and response.order.leaves_quantity:
        return response.order.order_id
    return None
