"""``stx order``, ``stx cancel``, ``stx orders`` and ``stx book``: trading from a terminal."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import click
import grpc
import uvloop
from stocktraderx.v1 import common_pb2, orders_pb2

from clients import session
from clients.account_view import describe_account
from clients.book import watch
from clients.connect import account_option, target_option
from clients.connect import client as _client
from clients.connect import failure as _failure
from clients.loadtest import LoadSpec, run_load
from clients.login import login, logout
from clients.money import format_price
from clients.order_entry import ORDER_TYPES, TIFS, format_time, order_terms
from clients.report import report
from clients.sdk import ExchangeError, place_request
from clients.simulate import simulate as run_simulation
from clients.top import top
from clients.transport import ClientTls, tls_options


def _describe(order: orders_pb2.Order) -> str:
    side = common_pb2.Side.Name(order.side).removeprefix("SIDE_").lower()
    price = format_price(order.price) if order.price else "market"
    stop = f"stop {format_price(order.stop_price)} " if order.stop_price else ""
    tif = common_pb2.TimeInForce.Name(order.time_in_force).removeprefix("TIME_IN_FORCE_").lower()
    if order.HasField("expire_time"):
        tif += f" until {format_time(order.expire_time.ToDatetime(UTC))}"
    status = orders_pb2.OrderStatus.Name(order.status).removeprefix("ORDER_STATUS_").lower()
    filled = f", filled {order.cum_quantity} @ {format_price(order.avg_price)}"
    return (
        f"#{order.order_id} {side} {order.quantity} {order.symbol} {stop}@ {price} {tif} "
        f"[{order.client_order_id}] {status}{filled if order.cum_quantity else ''}"
    )


# A negative quantity is an argument to refuse by its range, not an option
# click does not know ("No such option '-5'").
@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("side", type=click.Choice(["buy", "sell"]))
@click.argument("symbol")
@click.argument("quantity", type=click.IntRange(min=1))
@click.argument("price", required=False)
@click.option(
    "--stop", metavar="PRICE", help="The trigger of a stop (or, with PRICE, stop-limit) order."
)
@click.option(
    "--type",
    "order_type",
    type=click.Choice(ORDER_TYPES),
    help="Checked against the prices given; default: the type they make.",
)
@click.option("--tif", type=click.Choice(TIFS), show_default="day, gtd with --expire-at")
@click.option(
    "--expire-at",
    metavar="TIME",
    help="When a GTD order expires: ISO 8601 with a zone, like 2026-12-07T16:00:00Z.",
)
@click.option("--client-order-id", default=None, help="Default: a fresh unique id.")
@account_option
@target_option
@tls_options
def order(
    side: str,
    symbol: str,
    quantity: int,
    price: str | None,
    stop: str | None,
    order_type: str | None,
    tif: str | None,
    expire_at: str | None,
    client_order_id: str | None,
    account: str,
    target: str,
    tls: ClientTls,
) -> None:
    """Place an order. PRICE makes it a limit order, --stop a stop order (entering
    as a market order once the last trade reaches the trigger), both a
    stop-limit order, neither a market order:

    \b
      stx order buy AAPL 100                    market
      stx order sell AAPL 100 @190.05           limit
      stx order sell AAPL 100 --stop 185        stop
      stx order buy AAPL 100 @191.50 --stop 191 stop-limit
      stx order buy AAPL 100 @189 --expire-at 2026-12-07T16:00:00Z   GTD
    """
    terms = order_terms(price, stop, order_type, tif, expire_at, datetime.now(UTC))
    request = place_request(
        account,
        client_order_id or uuid.uuid4().hex[:16],
        symbol.upper(),
        side,
        quantity,
        terms.price,
        terms.time_in_force,
        terms.stop_price,
        terms.expire_time,
    )
    with _client(target, tls) as client:
        response = client.place(request)
    click.echo(_describe(response.order))


@click.command()
@click.argument("order_id", type=click.IntRange(min=1))
@account_option
@target_option
@tls_options
def cancel(order_id: int, account: str, target: str, tls: ClientTls) -> None:
    """Cancel an open order by its id."""
    with _client(target, tls) as client:
        click.echo(_describe(client.cancel(order_id, account)))


@click.command()
@click.option("--all", "everything", is_flag=True, help="Include filled and cancelled orders.")
@account_option
@target_option
@tls_options
def orders(everything: bool, account: str, target: str, tls: ClientTls) -> None:
    """List the account's orders (open ones unless --all)."""
    with _client(target, tls) as client:
        found = client.orders(account, open_only=not everything)
    if not found:
        click.echo("no orders")
    for item in found:
        click.echo(_describe(item))


@click.command()
@account_option
@target_option
@tls_options
def account(account: str, target: str, tls: ClientTls) -> None:
    """Show the account's cash, buying power, positions and profit and loss."""
    with _client(target, tls) as client:
        found = client.account(account)
    for line in describe_account(found):
        click.echo(line)


@click.command()
@click.argument("symbol")
@click.option("--levels", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--interval", type=click.FloatRange(min=0.05), default=0.25, show_default=True)
@click.option("--once", is_flag=True, help="Print the ladder once and exit.")
@target_option
@tls_options
def book(
    symbol: str, levels: int, interval: float, once: bool, target: str, tls: ClientTls
) -> None:
    """Show SYMBOL's order book as a depth ladder, updating in place until ^C."""
    with _client(target, tls) as client:
        try:
            watch(client, symbol, levels, interval, once)
        except KeyboardInterrupt:
            click.echo()


@click.command()
@click.option("--seed", default=1, show_default=True, help="Seed of the simulated flow.")
@click.option("--rate", default=200.0, show_default=True, help="Orders per second, on average.")
@click.option("--duration", type=float, default=None, help="Seconds to run (default: until ^C).")
@target_option
@tls_options
def simulate(seed: int, rate: float, duration: float | None, target: str, tls: ClientTls) -> None:
    """Keep a market moving: seeded market makers and takers."""
    if rate <= 0:
        raise click.BadParameter("must be positive", param_hint="--rate")
    token = None
    try:
        token = session.access_token(target, tls)
        tally = asyncio.run(
            run_simulation(
                target, seed=seed, rate=rate, duration=duration, say=click.echo, token=token,
                tls=tls,
            )
        )  # fmt: skip
    except ExchangeError as error:
        raise _failure(error, target, tls, token) from None
    except KeyboardInterrupt:
        return
    click.echo(tally.summary())


@click.command()
@target_option
@tls_options
@click.option("--rate", type=float, required=True, help="Offered orders per second, in total.")
@click.option("--duration", type=float, default=10.0, show_default=True, help="Seconds.")
@click.option("--streams", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Orders per stream message.",
)
@click.option(
    "--crossing",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Share of orders that trade at once.",
)
@click.option(
    "--cancel",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of commands that cancel one of the stream's resting orders.",
)
@click.option("--seed", default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def loadtest(
    target: str,
    rate: float,
    duration: float,
    streams: int,
    batch: int,
    crossing: float,
    cancel: float,
    seed: int,
    as_json: bool,
    tls: ClientTls,
) -> None:
    """Open-loop load on the order stream; ack latency from the scheduled send time."""
    if rate <= 0 or duration <= 0:
        raise click.BadParameter("--rate and --duration must be positive")
    token = session.access_token(target, tls)
    spec = LoadSpec(
        target, rate, duration, streams, batch, crossing, cancel, seed, token=token, tls=tls,
    )  # fmt: skip

    shown = [-1]

    def show(fraction: float) -> None:
        percent = int(fraction * 100)
        if as_json or percent == shown[0]:
            return
        shown[0] = percent
        bar = "#" * (percent * 30 // 100)
        click.echo(f"\r[{bar:<30}] {percent:3d}%", nl=False, err=True)

    try:
        result = uvloop.run(run_load(spec, show))
    except ExchangeError as error:  # preparing the accounts
        raise _failure(error, target, tls, token) from None
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.UNAUTHENTICATED:
            raise click.ClickException(
                session.sign_in_refused(token, error.details() or "")
            ) from None
        raise click.ClickException(
            f"cannot load the exchange at {target}: {error.code().name}: {error.details()}"
        ) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result.as_json()))
        return
    click.echo("", err=True)
    figures = result.as_json()
    click.echo(
        f"offered {figures['offered']:,} orders at {rate:,.0f}/s over {streams} stream(s), "
        f"batch {batch}: acknowledged {figures['acknowledged']:,} "
        f"({figures['orders_per_sec']:,.0f}/s), errors {figures['errors']}"
    )
    click.echo(
        "ack latency us: " + "  ".join(f"{name} {figures[key]:,}" for name, key in LATENCY_KEYS)
    )


LATENCY_KEYS = (
    ("p50", "p50_us"),
    ("p90", "p90_us"),
    ("p99", "p99_us"),
    ("p99.9", "p999_us"),
    ("max", "max_us"),
)
COMMANDS = (login, logout, order, cancel, orders, account, book, simulate, loadtest, top, report)
