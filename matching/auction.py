"""Call auctions: the equilibrium price and the uncross.

The price is the one that executes the most volume; among those, the one with
the smallest imbalance (surplus on one side); then the one closest to the
reference price (the last trade, else the previous close); then the lowest,
so the result is always unique. Auctions trade whole remaining quantities,
hidden iceberg quantity included, and apply no self-trade prevention: the
volume is decided before any pairing exists.

With market order protection on, a buy market order takes part as a limit
order at the price its cash is reserved at (``Order.reserve``), keeping the
market orders' place ahead of limit orders.
"""

from __future__ import annotations

from collections.abc import Iterator

from matching.book import Order, OrderBook, PriceLevel
from matching.enums import CancelReason, Side
from matching.events import AuctionCompleted, Event, OrderCancelled, OrderFilled, Trade


def equilibrium(book: OrderBook, protect: bool = False) -> tuple[int, int] | None:
    """``(price, volume)`` at which the book would uncross now, or None."""
    market_buy = 0
    bid_depth = {price: _total(book.bids[price]) for price in book.bid_prices}
    for order in book.market_buys.orders():
        if protect and order.reserve:
            bid_depth[order.reserve] = bid_depth.get(order.reserve, 0) + order.remaining
        else:
            market_buy += order.remaining
    market_sell = sum(order.remaining for order in book.market_sells.orders())
    ask_depth = {-key: _total(book.asks[-key]) for key in book.ask_keys}
    reference = book.reference_price
    candidates = sorted(bid_depth.keys() | ask_depth.keys())
    if not candidates:
        if market_buy and market_sell and reference:
            return reference, min(market_buy, market_sell)
        return None

    sell_volume: list[int] = []
    running = market_sell
    for price in candidates:
        running += ask_depth.get(price, 0)
        sell_volume.append(running)
    best: tuple[int, int, int, int] | None = None
    running = market_buy
    for index in range(len(candidates) - 1, -1, -1):
        price = candidates[index]
        running += bid_depth.get(price, 0)
        volume = min(running, sell_volume[index])
        if not volume:
            continue
        distance = abs(price - reference) if reference else 0
        rank = (-volume, abs(running - sell_volume[index]), distance, price)
        if best is None or rank < best:
            best = rank
    if best is None:
        return None
    return best[3], -best[0]


def uncross(book: OrderBook, out: list[Event], protect: bool = False) -> None:
    """Execute the auction at the equilibrium price, then drop unexecuted
    market orders. The book is left uncrossed. ``protect``: market order
    protection is on."""
    result = equilibrium(book, protect)
    if result is not None:
        price, volume = result
        _execute(book, price, volume, out, protect)
        book.last_trade_price = price
        book.set_band_reference(price)
        out.append(AuctionCompleted(book.symbol, price, volume))
    for queue in (book.market_buys, book.market_sells):
        for order in list(queue.orders()):
            book.detach(order)
            out.append(
                OrderCancelled(
                    book.symbol,
                    order.order_id,
                    order.account,
                    order.remaining,
                    CancelReason.AUCTION_UNEXECUTED,
                )
            )


def _total(level: PriceLevel) -> int:
    return sum(order.remaining for order in level.orders())


def _eligible(book: OrderBook, side: Side, price: int, protect: bool) -> Iterator[Order]:
    """Orders of ``side`` that may trade at ``price``, in execution priority."""
    if side is Side.BUY:
        for order in _queue(book.market_buys):
            if not (protect and order.reserve) or order.reserve >= price:
                yield order
    else:
        yield from _queue(book.market_sells)
    for level in book.levels(side):
        if (level.price < price) if side is Side.BUY else (level.price > price):
            return
        yield from _queue(level)


def _queue(level: PriceLevel) -> Iterator[Order]:
    order = level.head
    while order is not None:
        following = order.next
        yield order
        order = following


def _execute(book: OrderBook, price: int, volume: int, out: list[Event], protect: bool) -> None:
    symbol = book.symbol
    counters = book.counters
    buys = _eligible(book, Side.BUY, price, protect)
    sells = _eligible(book, Side.SELL, price, protect)
    touched: dict[int, PriceLevel] = {}
    buy = next(buys)
    sell = next(sells)
    while volume:
        quantity = min(buy.remaining, sell.remaining, volume)
        volume -= quantity
        counters.trade_id += 1
        trade_id = counters.trade_id
        out.append(
            Trade(
                symbol,
                trade_id,
                price,
                quantity,
                None,
                buy.order_id,
                sell.order_id,
                buy.account,
                sell.account,
            )
        )
        for order in (sell, buy):
            order.remaining -= quantity
            out.append(
                OrderFilled(
                    symbol,
                    order.order_id,
                    order.account,
                    trade_id,
                    price,
                    quantity,
                    order.remaining,
                    order.cum_quantity,
                )
            )
            level = order.level
            if level.price:
                touched[id(level)] = level
            _shrink_display(level, order)
            if not order.remaining:
                book.detach(order)
        if volume:
            if not buy.remaining:
                buy = next(buys)
            if not sell.remaining:
                sell = next(sells)
    for level in touched.values():
        book.level_changed(level, out)


def _shrink_display(level: PriceLevel, order: Order) -> None:
    """Keep the visible part within what is left (priority is unchanged)."""
    shown = min(order.peak, order.remaining) if order.peak else order.remaining
    if order.display != shown:
        level.quantity += shown - order.display
        order.display = shown
