"""``stx book SYMBOL``: a live depth ladder in the terminal.

Polls the market data service's depth snapshot and redraws the ladder in
place (cursor home, then clear to the end of the screen, so the terminal
does not flicker). Asks above bids, best prices meeting in the middle; the
header shows the last trade, the session's volume and the L2 channel
sequence the picture is as of.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from stocktraderx.v1 import common_pb2, market_data_pb2

from clients.money import format_price
from clients.sdk import ExchangeClient

_HOME_AND_CLEAR = "\x1b[H\x1b[J"


def render_ladder(
    depth: market_data_pb2.DepthSnapshot, quote: market_data_pb2.Quote, levels: int
) -> str:
    """The ladder as text: ``levels`` asks (highest first), the spread, then bids."""
    phase = common_pb2.TradingPhase.Name(depth.trading_phase).removeprefix("TRADING_PHASE_")
    as_of = datetime.fromtimestamp(depth.update_time.ToNanoseconds() / 1e9, UTC)
    last = (
        f"last {format_price(quote.last_price)} x {quote.last_quantity}"
        if quote.last_price
        else "no trade yet"
    )
    lines = [
        f"{depth.symbol}  {phase.lower()}  {last}  volume {quote.volume:,}",
        f"L2 #{depth.channel_sequence}  engine #{depth.sequence}  {as_of:%H:%M:%S.%f}"[:-3]
        + " UTC",
        "",
        f"{'orders':>7} {'bid size':>10} {'price':>12} {'ask size':<10} {'orders':<7}",
    ]
    for level in reversed(depth.asks[:levels]):
        lines.append(
            f"{'':>7} {'':>10} {format_price(level.price):>12} "
            f"{level.quantity:<10,} {level.order_count:<7}"
        )
    if depth.bids and depth.asks:
        spread = format_price(depth.asks[0].price - depth.bids[0].price)
        lines.append(f"{'':>18} {'- spread ' + spread + ' -':^12}")
    else:
        lines.append(f"{'':>18} {'- one-sided -' if depth.bids or depth.asks else '- empty -':^12}")
    for level in depth.bids[:levels]:
        lines.append(
            f"{level.order_count:>7} {level.quantity:>10,} {format_price(level.price):>12}"
        )
    return "\n".join(lines)


def watch(client: ExchangeClient, symbol: str, levels: int, interval: float, once: bool) -> None:
    while True:
        depth = client.depth(symbol, levels)
        quote = client.quote(symbol)
        ladder = render_ladder(depth, quote, levels)
        if once:
            click.echo(ladder)
            return
        click.echo(_HOME_AND_CLEAR + ladder, nl=True)
        time.sleep(interval)
