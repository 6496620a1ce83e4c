"""The simulator's order sizes follow each instrument's price; a refused
order is counted, an exchange that went away ends the simulation."""

import asyncio
from typing import cast

import grpc
import pytest
from stocktraderx.v1 import orders_pb2

from clients.sdk import AsyncExchangeClient, ExchangeError
from clients.simulate import QUOTE_VALUE, Market, Outage, Tally, _place, order_unit


@pytest.mark.parametrize(
    ("fair", "unit"),
    [
        (1_900_000, 100),  # 190.00: 100 shares
        (4_200_000, 10),
        (120_000, 1_000),  # 12.00
        (6_500_000_000, 1),  # 650,000.00: one share, never less
        (QUOTE_VALUE, 1),
        (QUOTE_VALUE // 10, 10),
    ],
)
def test_a_unit_is_worth_at_most_the_quote_value(fair: int, unit: int) -> None:
    assert order_unit(fair) == unit
    assert unit == 1 or unit * fair <= QUOTE_VALUE < 10 * unit * fair


class Answering:
    """An exchange client whose every order placement fails with ``code``."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code

    async def place(self, request: orders_pb2.PlaceOrderRequest) -> None:
        raise ExchangeError(self.code, "as the test wants")


def _place_one(code: grpc.StatusCode, tally: Tally) -> int | None:
    client = cast("AsyncExchangeClient", Answering(code))
    market = Market("AAPL", 100, 1_900_000)
    return asyncio.run(_place(client, tally, "TK0", "TK0-1", market, "buy", 100, 1_900_100))


def test_a_refused_order_is_counted_and_the_simulation_goes_on() -> None:
    tally = Tally()
    assert _place_one(grpc.StatusCode.FAILED_PRECONDITION, tally) is None
    assert (tally.sent, tally.refused) == (1, 1)
    # The summary says why (issue 16: "6100 refused" and no reason).
    assert tally.summary() == "sent 1 orders, 1 refused (FAILED_PRECONDITION 1), 0 fills"


def test_an_exchange_that_went_away_ends_the_simulation() -> None:
    # Counting it as a refusal would keep a simulator whose server was killed
    # (`stx serve --simulate` runs one as a child process) running forever.
    tally = Tally()
    with pytest.raises(ExchangeError) as ended:
        _place_one(grpc.StatusCode.UNAVAILABLE, tally)
    assert ended.value.code is grpc.StatusCode.UNAVAILABLE
    assert tally.refused == 0


def test_an_outage_is_waited_out_for_its_patience_then_given_up() -> None:
    """A restarted process of `stx serve` makes the exchange unavailable for
    a few seconds: the simulator under it must outlast that, and still give
    up on a server that is gone."""
    outage = Outage(patience=30.0)
    assert not outage.exhausted(100.0)
    assert not outage.exhausted(129.0)
    outage.clear()  # an answer came: the next failure starts afresh
    assert not outage.exhausted(200.0)
    assert not outage.exhausted(230.0)
    assert outage.exhausted(230.5)
