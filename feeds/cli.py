"""``stx feed SYMBOL``: the live ZeroMQ feed of one symbol, line by line."""

from __future__ import annotations

import os
from pathlib import Path

import click
from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from feeds import wire
from feeds.curve import CurveKeyError, subscriber_key
from feeds.subscriber import FeedError, SymbolFeed

LEVELS = {"1": wire.L1, "2": wire.L2, "trades": wire.TRADES}


def _price(units: int) -> str:
    whole, fraction = divmod(units, 10_000)
    return f"{whole}.{fraction:04d}".rstrip("0").rstrip(".") if fraction else str(whole)


def describe(message: pb.SubscribeMarketDataResponse) -> str:
    kind = message.WhichOneof("event")
    if kind == "quote":
        quote = message.quote
        return (
            f"{quote.symbol} L1 #{quote.channel_sequence} bid {_price(quote.bid_price)} x "
            f"{quote.bid_quantity} / ask {_price(quote.ask_price)} x {quote.ask_quantity}  "
            f"last {_price(quote.last_price)} x {quote.last_quantity}  volume {quote.volume:,}"
        )
    if kind == "depth_update":
        update = message.depth_update
        changes = ", ".join(
            f"{'B' if change.side == common_pb2.SIDE_BUY else 'S'} {_price(change.price)} "
            f"{change.quantity} ({change.order_count})"
            for change in update.changes
        )
        return f"{update.symbol} L2 #{update.channel_sequence} {changes}"
    trade = message.trade
    side = common_pb2.Side.Name(trade.aggressor_side).removeprefix("SIDE_").lower()
    return (
        f"{trade.symbol} trade #{trade.channel_sequence} {trade.quantity} @ "
        f"{_price(trade.price)} ({side})"
    )


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
    """Print SYMBOL's live market data from the ZeroMQ feed until ^C."""
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
    subscriber = SymbolFeed(endpoint, snapshot_endpoint, symbol, (LEVELS[level],), server_key=key)
    printed = 0
    gaps = 0
    try:
        while count is None or printed < count:
            for message in subscriber.poll(1_000):
                click.echo(describe(message))
                printed += 1
            if subscriber.gaps > gaps:
                click.echo(f"gap detected: resynchronised from a snapshot ({subscriber.gaps})",
                           err=True)  # fmt: skip
                gaps = subscriber.gaps
    except FeedError as error:
        hint = "is `stx serve` running?" + ("" if key is None else " is --server-key its key?")
        raise click.ClickException(f"{error} ({hint})") from None
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.close()
