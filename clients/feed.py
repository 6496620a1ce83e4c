"""``stx feed SYMBOL``: the live ZeroMQ feed of one symbol, as a table.

One channel per run (``--level``), one row per update (an L2 update: a row
per price level it changed), under a header naming the columns; the header
comes again after a resynchronisation and, on a terminal, every screenful.
Prices have the contract's 4 decimals, as in every ``stx`` command.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import click
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from clients.money import format_price
from feeds import wire
from feeds.curve import CurveKeyError, subscriber_key
from feeds.subscriber import FeedError, SymbolFeed

LEVELS = {"1": wire.L1, "2": wire.L2, "trades": wire.TRADES}

Column = tuple[str, str]
"""A column's title and its format spec (alignment and width)."""

_LEAD: tuple[Column, ...] = (("symbol", "<6"), ("feed", "<5"), ("seq", ">8"))
COLUMNS: dict[str, tuple[Column, ...]] = {
    wire.L1: (
        *_LEAD,
        ("bid size", ">10"), ("bid", ">12"), ("ask", ">12"), ("ask size", ">10"),
        ("last", ">12"), ("last size", ">10"), ("volume", ">12"),
    ),
    wire.L2: (*_LEAD, ("side", "<4"), ("price", ">12"), ("size", ">10"), ("orders", ">7")),
    wire.TRADES: (*_LEAD, ("size", ">10"), ("price", ">12"), ("aggressor", "<9")),
}  # fmt: skip
"""The columns of each channel; ``seq`` is the channel sequence."""


def _row(channel: str, values: Sequence[object]) -> str:
    return " ".join(
        f"{value:{spec}}" for value, (_, spec) in zip(values, COLUMNS[channel], strict=True)
    ).rstrip()


def header(channel: str) -> str:
    """The column titles of ``channel``'s rows."""
    return _row(channel, [title for title, _ in COLUMNS[channel]])


def _price(units: int) -> str:
    return format_price(units) if units else "-"  # 0: no bid, no ask, no trade yet


def describe(message: pb.SubscribeMarketDataResponse) -> list[str]:
    """The rows of one update (several for an L2 update changing several levels)."""
    kind = message.WhichOneof("event")
    if kind == "quote":
        quote = message.quote
        return [
            _row(
                wire.L1,
                (
                    quote.symbol,
                    "L1",
                    quote.channel_sequence,
                    f"{quote.bid_quantity:,}",
                    _price(quote.bid_price),
                    _price(quote.ask_price),
                    f"{quote.ask_quantity:,}",
                    _price(quote.last_price),
                    f"{quote.last_quantity:,}",
                    f"{quote.volume:,}",
                ),
            )
        ]
    if kind == "depth_update":
        update = message.depth_update
        return [
            _row(
                wire.L2,
                (
                    update.symbol,
                    "L2",
                    update.channel_sequence,
                    "bid" if change.side == common_pb2.SIDE_BUY else "ask",
                    _price(change.price),
                    f"{change.quantity:,}",
                    change.order_count,
                ),
            )
            for change in update.changes
        ]
    trade = message.trade
    side = common_pb2.Side.Name(trade.aggressor_side).removeprefix("SIDE_").lower()
    return [
        _row(
            wire.TRADES,
            (
                trade.symbol,
                "trade",
                trade.channel_sequence,
                f"{trade.quantity:,}",
                _price(trade.price),
                side,
            ),
        )
    ]


class Updates(Protocol):
    """What ``follow`` reads: a ``SymbolFeed`` (or a test's stand-in)."""

    @property
    def gaps(self) -> int: ...

    def poll(self, timeout_ms: int) -> list[pb.SubscribeMarketDataResponse]: ...


def follow(
    updates: Updates,
    channel: str,
    count: int | None,
    screenful: int | None,
    say: Callable[..., None],
) -> None:
    """Print ``count`` updates (None: until ^C) as rows under a header, which
    comes again after a resynchronisation and every ``screenful`` rows."""
    printed = 0
    rows = 0
    gaps = 0
    while count is None or printed < count:
        for message in updates.poll(1_000):
            for line in describe(message):
                if rows == 0 or (screenful and rows % screenful == 0):
                    say(header(channel))
                say(line)
                rows += 1
            printed += 1
            if printed == count:
                return
        if updates.gaps > gaps:
            say(f"gap detected: resynchronised from a snapshot ({updates.gaps})", err=True)
            gaps = updates.gaps
            rows = 0


@click.command()
@click.argument("symbol")
@click.option("--level", type=click.Choice(sorted(LEVELS)), default="2", show_default=True)
@click.option(
    "--endpoint", default="tcp://127.0.0.1:5556", show_default=True, help="The feed's PUB socket."
)
@click.option(
    "--snapshot-endpoint",
    default=None,
    help="The snapshot service (default: the feed's host, port + 1).",
)
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after N updates.")
@click.option(
    "--server-key",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="STX_FEED_SERVER_KEY",
    help="The feed's CurveZMQ public key (STX_FEED_SERVER_KEY; default "
    "./data/tls/feed-server.pub if present).",
)
@click.option("--plaintext", is_flag=True, help="An unencrypted feed (STX_PLAINTEXT=1).")
def feed(
    symbol: str,
    level: str,
    endpoint: str,
    snapshot_endpoint: str | None,
    count: int | None,
    server_key: Path | None,
    plaintext: bool,
) -> None:
    """Print SYMBOL's live market data from the ZeroMQ feed until ^C.

    \b
    One row per update, under a header of its columns:
      symbol feed seq   the symbol, the channel (L1, L2, trade) and the
                        channel's sequence number (a gap means a loss)
      --level 1         bid size, bid, ask, ask size, last (trade price),
                        last size and the session's volume
      --level 2         side (bid or ask), price, size and orders now at
                        that level (size 0: the level is gone)
      --level trades    size, price and the aggressor's side (buy or sell)
    A price of "-" is none: no bid, no ask, no trade yet.
    """
    plaintext = plaintext or os.environ.get("STX_PLAINTEXT", "").lower() in ("1", "true", "yes")
    try:
        key = subscriber_key(server_key, plaintext)
    except CurveKeyError as error:
        raise click.BadParameter(str(error), param_hint="--server-key") from None
    if snapshot_endpoint is None:
        host, _, port = endpoint.rpartition(":")
        if not port.isdigit():
            raise click.BadParameter("give --snapshot-endpoint", param_hint="--endpoint")
        snapshot_endpoint = f"{host}:{int(port) + 1}"
    channel = LEVELS[level]
    subscriber = SymbolFeed(endpoint, snapshot_endpoint, symbol, (channel,), server_key=key)
    # On a terminal the header comes back once it has scrolled out of sight.
    screenful = shutil.get_terminal_size().lines - 1 if sys.stdout.isatty() else None
    try:
        follow(subscriber, channel, count, screenful, click.echo)
    except FeedError as error:
        hint = "is `stx serve` running?" + ("" if key is None else " is --server-key its key?")
        raise click.ClickException(f"{error} ({hint})") from None
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.close()
