"""``stx demo``: one trading day on the engine, printed as it happens.

Runs until the server lands (then ``make run`` starts ``stx serve``): it
shows the engine's phases, the opening auction and a seeded order flow, on
the instruments ``stx serve`` (``make run``) lists: those of the demo
configuration, ``server/demo.toml``, the one list of both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from matching import (
    AuctionCompleted,
    Engine,
    NewOrder,
    OrderExpired,
    OrderRejected,
    OrderType,
    SetTradingPhase,
    Side,
    TimeInForce,
    Trade,
    TradingPhase,
)
from matching.book import OrderBook
from server.bench.workload import OrderFlow
from server.config import load

PRICE_SCALE = 10_000


def format_price(price: int) -> str:
    """A fixed-point price (4 implied decimals) as a decimal string."""
    sign = "-" if price < 0 else ""
    whole, fraction = divmod(abs(price), PRICE_SCALE)
    return f"{sign}{whole}.{fraction:04d}"


def ladder(book: OrderBook, depth: int = 5) -> list[str]:
    """The top of a book as text rows: bids on the left, asks on the right."""
    bids = list(book.levels(Side.BUY))[:depth]
    asks = list(book.levels(Side.SELL))[:depth]
    rows = [f"{'orders':>6} {'bid qty':>9} {'bid':>11} | {'ask':<11} {'ask qty':<9} {'orders':<6}"]
    for index in range(max(len(bids), len(asks))):
        left = right = ""
        if index < len(bids):
            level = bids[index]
            left = f"{level.count:>6} {level.quantity:>9,} {format_price(level.price):>11}"
        if index < len(asks):
            level = asks[index]
            right = f"{format_price(level.price):<11} {level.quantity:<9,} {level.count:<6}"
        rows.append(f"{left:>28} | {right}")
    return rows


def run_demo(say: Callable[[str], None]) -> None:
    # The listing only: the environment's server settings are no concern here.
    listing = load(environ={}).instruments
    engine = Engine(listing, phase=TradingPhase.PRE_OPEN)
    clock = 1_700_000_000_000_000_000
    say("== pre-open: orders collect, nothing matches ==")
    for index, (side, quantity, price) in enumerate(
        [
            (Side.BUY, 500, 1_901_000),
            (Side.BUY, 300, 1_900_500),
            (Side.SELL, 400, 1_899_000),
            (Side.SELL, 600, 1_902_000),
            (Side.BUY, 200, 0),
        ]
    ):
        order_type = OrderType.MARKET if price == 0 else OrderType.LIMIT
        engine.process(
            NewOrder(clock + index, f"ACC{index:03d}", "AAPL", side, order_type, quantity, price)
        )
    for row in ladder(engine.books["AAPL"]):
        say(row)

    say("\n== opening auction ==")
    for symbol in engine.books:
        for event in engine.process(SetTradingPhase(clock + 10, symbol, TradingPhase.CONTINUOUS)):
            if isinstance(event, AuctionCompleted):
                say(f"{event.symbol}: uncrossed {event.quantity:,} at {format_price(event.price)}")

    say("\n== continuous trading: 20,000 seeded orders, cancels and replaces ==")
    kinds: Counter[str] = Counter()
    trades: Counter[str] = Counter()
    flow = OrderFlow(engine, seed=7, listing=listing)
    for _ in range(20_000):
        command = flow.next_command()
        kinds[type(command).__name__] += 1
        events = engine.process(command)
        flow.observe(events)
        for event in events:
            if isinstance(event, Trade):
                trades[event.symbol] += event.quantity
    say(", ".join(f"{count:,} {kind}" for kind, count in kinds.most_common()))
    for symbol, book in engine.books.items():
        say(
            f"{symbol:>6}: last {format_price(book.last_trade_price):>12}"
            f"  volume {trades[symbol]:>9,}  resting {sum(1 for _ in _orders(book)):>5}"
        )
    say("\nAAPL depth:")
    for row in ladder(engine.books["AAPL"]):
        say(row)

    say("\n== close: DAY orders expire, GTC orders stay ==")
    expired = 0
    for symbol in engine.books:
        engine.process(SetTradingPhase(clock + 20, symbol, TradingPhase.CLOSING_AUCTION))
        for event in engine.process(SetTradingPhase(clock + 30, symbol, TradingPhase.CLOSED)):
            expired += isinstance(event, OrderExpired)
    engine.check_invariants()
    say(f"{expired} DAY orders expired; {len(engine.orders):,} GTC orders rest overnight")
    say(f"state hash {engine.state_hash()}")
    rejected = engine.process(
        NewOrder(
            clock + 40, "ACC001", "AAPL", Side.BUY, OrderType.LIMIT, 100, 1_900_000, TimeInForce.DAY
        )
    )
    refusal = rejected[0]
    assert isinstance(refusal, OrderRejected)  # the engine refuses it: a bug otherwise
    say(f"an order after the close: rejected, {refusal.reason.name} (the market is closed)")


def _orders(book: OrderBook) -> list[int]:
    return [
        order.order_id
        for side in (Side.BUY, Side.SELL)
        for level in book.levels(side)
        for order in level.orders()
    ]
