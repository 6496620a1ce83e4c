"""What ``stx order`` asks for, checked before any call: the order type, its
prices, the time in force and a GTD order's expiry.

The order type follows from the prices given (a PRICE makes a limit order,
``--stop`` a stop order, both a stop-limit order, neither a market order);
``--type`` states it outright and is then checked against them, so a
stop-limit order without its limit price is refused here, in words, rather
than sent as something else. The exchange checks everything again (the tick,
the band, the trigger): its refusals reach the user with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import click

from clients.money import parse_price

ORDER_TYPES = ("market", "limit", "stop", "stop-limit")
TIFS = ("day", "gtc", "ioc", "fok", "gtd")
IMMEDIATE_OR_DAY = ("day", "ioc", "fok")
"""What a market order may be: it never rests past the day."""

TAKES = {
    "market": "no PRICE and no --stop",
    "limit": "a PRICE and no --stop",
    "stop": "--stop (the trigger) and no PRICE: it enters as a market order",
    "stop-limit": "both a PRICE (the limit) and --stop (the trigger)",
}
"""What each order type needs, as the refusal of a mismatch says it."""


@dataclass(frozen=True)
class OrderTerms:
    """The order's type and terms in the units of the wire."""

    order_type: str
    price: int
    stop_price: int
    time_in_force: str
    expire_time: datetime | None


def order_terms(
    price: str | None,
    stop: str | None,
    order_type: str | None,
    tif: str | None,
    expire_at: str | None,
    now: datetime,
) -> OrderTerms:
    """The terms of the order the arguments describe; ``click`` usage errors
    (exit code 2) for a combination that makes no order."""
    limit = _price(price, "PRICE")
    trigger = _price(stop, "--stop")
    implied = ("stop-limit" if limit else "stop") if trigger else ("limit" if limit else "market")
    if order_type is not None and order_type != implied:
        raise click.BadParameter(
            f"a {order_type} order takes {TAKES[order_type]}", param_hint="--type"
        )
    if tif is None:
        tif = "gtd" if expire_at is not None else "day"
    if implied == "market" and tif not in IMMEDIATE_OR_DAY:
        raise click.BadParameter(
            f"a market order is day, ioc or fok, never {tif}: it does not rest in the book "
            "(give a PRICE for a limit order)",
            param_hint="--tif",
        )
    expiry = None
    if tif == "gtd":
        if expire_at is None:
            raise click.UsageError("a GTD order needs --expire-at, when it expires")
        expiry = _expiry(expire_at, now)
    elif expire_at is not None:
        raise click.BadParameter(
            f"only GTD orders expire at a time: --tif gtd, not {tif}", param_hint="--expire-at"
        )
    return OrderTerms(implied, limit, trigger, tif, expiry)


def _price(text: str | None, hint: str) -> int:
    if text is None:
        return 0
    try:
        return parse_price(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=hint) from None


def _expiry(text: str, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time such as 2026-12-07T16:00:00Z",
            param_hint="--expire-at",
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} has no time zone: add Z for UTC (2026-12-07T16:00:00Z) or an offset "
            "(2026-12-07T11:00:00-05:00)",
            param_hint="--expire-at",
        )
    if moment <= now:
        raise click.BadParameter(
            f"{format_time(moment)} is not in the future (it is {format_time(now)} now)",
            param_hint="--expire-at",
        )
    return moment


def format_time(moment: datetime) -> str:
    """A moment in UTC, to the second, as ``--expire-at`` reads it back."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
