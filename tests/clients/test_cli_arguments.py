"""`stx` refuses bad arguments with what is wrong with them, before any call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from stocktraderx.v1 import common_pb2

from clients.cli import order
from clients.money import parse_price
from clients.order_entry import format_time, order_terms
from clients.sdk import place_request


def test_a_negative_quantity_is_out_of_range_not_an_unknown_option() -> None:
    result = CliRunner().invoke(order, ["buy", "AAPL", "-5"])
    assert result.exit_code == 2
    assert "No such option" not in result.output
    assert "QUANTITY" in result.output
    assert "-5 is not in the range x>=1" in result.output


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (
            ["--type", "stop-limit", "--stop", "191"],
            "a stop-limit order takes both a PRICE (the limit) and --stop (the trigger)",
        ),
        (["@191.5", "--type", "stop"], "a stop order takes --stop (the trigger) and no PRICE"),
        (["--type", "limit"], "a limit order takes a PRICE and no --stop"),
        (["--stop", "19x"], "'19x' is not a price"),
        (["@189", "--tif", "gtd"], "a GTD order needs --expire-at"),
        (
            ["@189", "--expire-at", "2020-01-02T16:00:00Z"],
            "2020-01-02T16:00:00Z is not in the future",
        ),
        (["@189", "--expire-at", "2999-01-02T16:00:00"], "has no time zone: add Z for UTC"),
        (["@189", "--expire-at", "tomorrow"], "'tomorrow' is not an ISO 8601 time"),
        (["@189", "--tif", "gtc", "--expire-at", "2999-01-02T16:00:00Z"], "only GTD orders expire"),
        (["--tif", "gtc"], "a market order is day, ioc or fok, never gtc"),
        (["--expire-at", "2999-01-02T16:00:00Z"], "a market order is day, ioc or fok, never gtd"),
    ],
)
def test_an_order_that_makes_no_sense_is_refused_in_words(arguments: list[str], says: str) -> None:
    # Issue 16: `stx order` had no stop, stop-limit or GTD orders at all.
    result = CliRunner().invoke(order, ["buy", "AAPL", "100", *arguments, "--plaintext"])
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())


NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("price", "stop", "kind", "order_type"),
    [
        (None, None, "market", common_pb2.ORDER_TYPE_MARKET),
        ("@190.05", None, "limit", common_pb2.ORDER_TYPE_LIMIT),
        (None, "185", "stop", common_pb2.ORDER_TYPE_STOP),
        ("191.50", "@191", "stop-limit", common_pb2.ORDER_TYPE_STOP_LIMIT),
    ],
)
def test_the_prices_given_make_the_order_type(
    price: str | None, stop: str | None, kind: str, order_type: int
) -> None:
    for stated in (None, kind):
        terms = order_terms(price, stop, stated, None, None, NOW)
        assert (terms.order_type, terms.time_in_force) == (kind, "day")
    request = place_request(
        "A", "c1", "AAPL", "buy", 100, terms.price, terms.time_in_force, terms.stop_price
    )
    assert request.order_type == order_type
    assert request.price == (parse_price(price) if price else 0)
    assert request.stop_price == (parse_price(stop) if stop else 0)


def test_an_expiry_makes_a_gtd_order_expiring_then() -> None:
    terms = order_terms("189", None, None, None, "2026-12-07T11:00:00-05:00", NOW)
    assert terms.time_in_force == "gtd"
    request = place_request("A", "c1", "AAPL", "buy", 100, terms.price, "gtd", 0, terms.expire_time)
    assert request.time_in_force == common_pb2.TIME_IN_FORCE_GTD
    assert request.expire_time.ToDatetime(UTC) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    assert format_time(request.expire_time.ToDatetime(UTC)) == "2026-12-07T16:00:00Z"
