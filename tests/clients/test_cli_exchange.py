"""The `stx` trading commands against an exchange running in this process:
stop, stop-limit and GTD orders, prices with fixed decimals, the exchange's
refusals with their reason, and what a signed-out user is told."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import grpc
import pytest
from click.testing import CliRunner, Result
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from clients.cli import loadtest, order, orders, simulate
from clients.login import login, logout
from clients.order_entry import format_time
from clients.sdk import AsyncExchangeClient, ExchangeError, place_request
from tests.server.local import local_settings, prepare_accounts
from tests.server.transport.running import RunningExchange

PASSWORD = "a long passphrase here"


@dataclass
class Terminal:
    """`stx` commands of one user, with a session file of their own."""

    target: str
    session_file: Path

    def run(self, command: click.Command, *arguments: str) -> Result:
        return CliRunner().invoke(
            command,
            [*arguments, "--target", self.target, "--plaintext"],
            env={"STX_TOKEN_FILE": str(self.session_file), "STX_PASSWORD": PASSWORD},
        )


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terminal]:
    data = tmp_path_factory.mktemp("exchange")
    running = RunningExchange(local_settings(data, auth_required=True))
    with running as exchange:
        target = f"127.0.0.1:{exchange.port}"
        with grpc.insecure_channel(target) as channel:
            users_pb2_grpc.UserServiceStub(channel).Register(
                users_pb2.RegisterRequest(
                    username="olga", email="olga@example.com", password=PASSWORD
                ),
                timeout=10,
            )
        running.call(prepare_accounts(exchange, "OLGA"))
        yield Terminal(target, data / "session.json")


def test_stop_stop_limit_and_gtd_orders_from_the_terminal(terminal: Terminal) -> None:
    signed = terminal.run(login, "--username", "olga")
    assert signed.exit_code == 0, signed.output
    stop = terminal.run(order, "sell", "AAPL", "100", "--stop", "185", "--account", "OLGA")
    assert stop.exit_code == 0, stop.output
    assert "sell 100 AAPL stop 185.0000 @ market day" in stop.output
    assert "pending_trigger" in stop.output
    stop_limit = terminal.run(
        order, "buy", "AAPL", "100", "@191.50", "--stop", "191", "--account", "OLGA"
    )
    assert stop_limit.exit_code == 0, stop_limit.output
    assert "buy 100 AAPL stop 191.0000 @ 191.5000 day" in stop_limit.output
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    gtd = terminal.run(
        order, "buy", "AAPL", "100", "@189", "--expire-at", expiry.isoformat(), "--account", "OLGA"
    )
    assert gtd.exit_code == 0, gtd.output
    assert f"buy 100 AAPL @ 189.0000 gtd until {format_time(expiry)}" in gtd.output
    listed = terminal.run(orders, "--account", "OLGA")
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.splitlines()) == 3
    # The exchange's own checks still speak, with their reason: the trigger
    # is off AAPL's tick (0.01), which only the exchange knows.
    off_tick = terminal.run(order, "buy", "AAPL", "100", "--stop", "191.005", "--account", "OLGA")
    assert off_tick.exit_code == 1
    assert "refused [INVALID_STOP_PRICE]" in off_tick.output


def test_signed_out_the_commands_say_to_sign_in(terminal: Terminal) -> None:
    signed = terminal.run(login, "--username", "olga")
    assert signed.exit_code == 0, signed.output
    assert terminal.run(orders, "--account", "OLGA").exit_code == 0
    assert terminal.run(logout).output.strip() == "signed out"
    # Issue 16: after `stx logout` the next command spoke of HTTP headers
    # ("sign in: send 'authorization: Bearer <token>'").
    for command, arguments in (
        (orders, ("--account", "OLGA")),
        (order, ("buy", "AAPL", "10", "@189", "--account", "OLGA")),
        (simulate, ("--duration", "1")),
        (loadtest, ("--rate", "10", "--duration", "1")),
    ):
        after = terminal.run(command, *arguments)
        assert after.exit_code == 1
        assert after.output.strip() == "Error: not signed in: run `stx login`"


def test_the_async_client_keeps_a_refusals_status_and_reason(terminal: Terminal) -> None:
    # `stx simulate` counts refusals by reason and stops when the exchange is
    # gone: both read what the async client makes of the error.
    with grpc.insecure_channel(terminal.target) as channel:
        token = (
            users_pb2_grpc.UserServiceStub(channel)
            .Login(users_pb2.LoginRequest(username="olga", password=PASSWORD), timeout=10)
            .access_token
        )

    async def place() -> None:
        async with AsyncExchangeClient(terminal.target, token=token) as client:
            await client.place(place_request("OLGA", "off-tick", "AAPL", "buy", 1, 1_890_050))

    with pytest.raises(ExchangeError) as refused:
        asyncio.run(place())
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.reason == "PRICE_NOT_ON_TICK"
    assert "tick size of AAPL is 0.0100" in refused.value.message
