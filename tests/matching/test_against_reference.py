"""The engine and the simple reference book agree on every trade and every
queue, command after command, over random continuous-trading streams."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    CancelOrder,
    Engine,
    Instrument,
    NewOrder,
    OrderType,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Trade,
)
from tests.matching.reference_book import ReferenceBook

ACCOUNTS = ("a", "b", "c")
TIFS = (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
orders = st.tuples(
    st.just("new"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(Side),
    st.integers(min_value=1, max_value=12),
    st.one_of(st.none(), st.integers(min_value=99, max_value=101), st.integers(98, 102)),
    st.sampled_from(TIFS),
    st.sampled_from([0, 0, 2, 3]),
    st.sampled_from([False, False, False, True]),
    st.sampled_from(SelfTradePrevention),
)
streams = st.lists(
    st.one_of(
        orders,
        orders,
        orders,
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("replace"), st.integers(0, 40), st.integers(98, 102), st.integers(1, 12)),
    ),
    min_size=10,
    max_size=120,
)


def _engine_book(engine: Engine) -> dict[str, list[tuple[int, list[tuple[int, int, int]]]]]:
    book = engine.books["X"]
    return {
        side.name: [
            (
                level.price,
                [(order.order_id, order.remaining, order.display) for order in level.orders()],
            )
            for level in book.levels(side)
        ]
        for side in (Side.BUY, Side.SELL)
    }


@settings(
    max_examples=int(os.environ.get("STX_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(streams)
def test_engine_matches_the_reference(stream: list[tuple[object, ...]]) -> None:
    engine = Engine([Instrument("X", 1)])
    reference = ReferenceBook()
    owners: list[tuple[int, str]] = []
    for now, action in enumerate(stream, start=1):
        kind = action[0]
        if kind == "new":
            _, account, side, quantity, price, tif, peak, post_only, stp = action
            assert isinstance(tif, TimeInForce)
            assert isinstance(account, str)
            market = price is None
            if market and tif not in (TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK):
                tif = TimeInForce.IOC
            post_only = bool(post_only) and not market and tif in (TimeInForce.DAY, TIFS[1])
            peak = 0 if market else peak
            command = NewOrder(
                now,
                account,
                "X",
                side,  # type: ignore[arg-type]
                OrderType.MARKET if market else OrderType.LIMIT,
                quantity,  # type: ignore[arg-type]
                0 if market else price,  # type: ignore[arg-type]
                tif,
                display_quantity=peak if peak and peak <= quantity else 0,  # type: ignore[operator, arg-type]
                post_only=post_only,
                self_trade_prevention=stp,  # type: ignore[arg-type]
            )
            reference.new_order(
                account,
                command.side,
                command.quantity,
                None if market else command.price,
                tif,
                command.display_quantity,
                post_only,
                command.self_trade_prevention,
            )
            owners.append((reference.next_id, account))
        elif not owners:
            continue
        elif kind == "cancel":
            order_id, account = owners[action[1] % len(owners)]  # type: ignore[operator]
            command = CancelOrder(now, account, order_id)  # type: ignore[assignment]
            reference.cancel(account, order_id)
        else:
            order_id, account = owners[action[1] % len(owners)]  # type: ignore[operator]
            price, quantity = action[2], action[3]
            command = ReplaceOrder(now, account, order_id, price, quantity)  # type: ignore[assignment, arg-type]
            reference.replace(account, order_id, price, quantity)  # type: ignore[arg-type]
        events = engine.process(command)
        trades = [
            (event.price, event.quantity, event.buy_order_id, event.sell_order_id)
            for event in events
            if isinstance(event, Trade)
        ]
        assert trades == reference.trades, (command, events)
        assert _engine_book(engine) == reference.snapshot(), command
