"""Trading with `stx order`, `stx cancel` and `stx orders` against `stx serve`.

The tests share one server (``exchange``), but for the simulated market's:
each trades for accounts of its own, and those that read a book or a feed
channel read a symbol no test before them traded (AAPL the first, MSFT the
feed's); the market-wide `stx loadtest` and `stx simulate` come last."""

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.serve import (
    ADMIN,
    ADMIN_PASSWORD,
    STX,
    TLS_OF_PORT,
    admin_token,
    client_environ,
    free_port,
    kept_for_the_module,
    prepare_accounts,
    start_server,
)

SESSION: dict[str, str] = {}
"""Environment of the `stx` commands: the session file of the current test."""


def _stx(port: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STX), *arguments, "--target", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **SESSION, **client_environ(port)},
    )


@dataclass(frozen=True)
class Exchange:
    port: int
    feed_port: int
    data: Path


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    """The module's server; with client certificates required, as the REST
    bridge's test needs (every client here presents the local CA's)."""
    data = tmp_path_factory.mktemp("exchange") / "data"
    port, feed_port = free_port(), free_port()
    server = start_server(data, port, feed_port=feed_port, require_client_cert=True)
    with kept_for_the_module(server):
        yield Exchange(port, feed_port, data)


@pytest.fixture(autouse=True)
def _session_file(tmp_path: Path) -> Iterator[None]:
    SESSION.update(STX_TOKEN_FILE=str(tmp_path / "session.json"), STX_PASSWORD=ADMIN_PASSWORD)
    yield
    SESSION.clear()


def _sign_in(port: int) -> None:
    signed = _stx(port, "login", "--username", ADMIN)
    assert signed.returncode == 0, signed.stderr
    assert "signed in as admin" in signed.stdout


@pytest.mark.timeout(120)
def test_order_cancel_and_list_from_the_terminal(exchange: Exchange) -> None:
    """The first test on the module's server: AAPL's book is its own."""
    port = exchange.port
    prepare_accounts(port, admin_token(port), "A", "B")
    _sign_in(port)
    sold = _stx(port, "order", "sell", "AAPL", "300", "@190.00", "--account", "A")
    assert sold.returncode == 0, sold.stderr
    assert "sell 300 AAPL @ 190.0000 day" in sold.stdout
    assert "new" in sold.stdout
    bought = _stx(port, "order", "buy", "aapl", "100", "190.00", "--account", "B")
    assert "filled 100 @ 190.0000" in bought.stdout
    listed = _stx(port, "orders", "--account", "A")
    assert "partially_filled" in listed.stdout
    holdings = _stx(port, "account", "--account", "B")
    assert holdings.returncode == 0, holdings.stderr
    rows = [line.split() for line in holdings.stdout.splitlines() if "AAPL" in line]
    assert rows[0][:3] == ["AAPL", "100", "190.0000"]
    ladder = _stx(port, "book", "AAPL", "--once")
    assert ladder.returncode == 0, ladder.stderr
    assert "last 190.0000 x 100" in ladder.stdout
    assert [line.split() for line in ladder.stdout.splitlines() if "190" in line][-1] == [
        "190.0000", "200", "1",
    ]  # fmt: skip
    assert "one-sided" in ladder.stdout
    live = subprocess.Popen(
        [str(STX), "book", "AAPL", "--interval", "0.1", "--target", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **client_environ(port)},
    )
    # ^C once it draws (on a loaded machine starting it alone can take
    # longer than a fixed wait), then after a few more intervals.
    assert live.stdout is not None
    first = live.stdout.readline()
    time.sleep(1.0)
    live.send_signal(signal.SIGINT)
    rest, _ = live.communicate(timeout=10)
    redrawn = first + rest
    assert live.returncode == 0
    # Redrawn every interval (in place on a terminal; a pipe gets no escapes).
    assert redrawn.count("AAPL  continuous") >= 3
    assert "\x1b[" not in redrawn
    unknown_symbol = _stx(port, "book", "NOPE", "--once")
    assert unknown_symbol.returncode == 1
    assert "UNKNOWN_SYMBOL" in unknown_symbol.stderr
    order_id = sold.stdout.split()[0].lstrip("#")
    cancelled = _stx(port, "cancel", order_id, "--account", "A")
    assert "canceled" in cancelled.stdout

    unknown = _stx(port, "cancel", "999999999", "--account", "A")
    assert unknown.returncode == 1
    assert "UNKNOWN_ORDER" in unknown.stderr
    off_tick = _stx(port, "order", "buy", "AAPL", "100", "190.005")
    assert off_tick.returncode == 1
    assert "PRICE_NOT_ON_TICK" in off_tick.stderr
    bad_price = _stx(port, "order", "buy", "AAPL", "100", "@19x")
    assert bad_price.returncode == 2
    assert "not a price" in bad_price.stderr


def test_a_clear_error_when_no_exchange_is_running() -> None:
    result = _stx(free_port(), "orders")
    assert result.returncode == 1
    assert "is `stx serve` running?" in result.stderr


@pytest.mark.timeout(120)
def test_feed_prints_live_level_2_and_trades(exchange: Exchange) -> None:
    port, feed_port = exchange.port, exchange.feed_port
    endpoint = f"tcp://127.0.0.1:{feed_port}"
    prepare_accounts(port, admin_token(port), "s1", "b1", "s2", "b2")
    _sign_in(port)
    watchers = [
        subprocess.Popen(
            [
                str(STX),
                "feed",
                "MSFT",
                "--level",
                level,
                "--count",
                "2",
                "--endpoint",
                endpoint,
                "--snapshot-endpoint",
                f"tcp://127.0.0.1:{feed_port + 1}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **client_environ(port)},
        )
        for level in ("2", "trades")
    ]
    time.sleep(1.5)  # subscriptions reach the publisher
    for side, client_id in (("sell", "s1"), ("buy", "b1"), ("sell", "s2"), ("buy", "b2")):
        placed = _stx(port, "order", side, "MSFT", "100", "@420.00", "--account", client_id)
        assert placed.returncode == 0, placed.stderr
    (depth, _), (prints, _) = (watcher.communicate(timeout=30) for watcher in watchers)
    # A header names the columns (issue 16: the lines had no legend).
    titles, *rows = depth.splitlines()
    assert titles.split() == ["symbol", "feed", "seq", "side", "price", "size", "orders"]
    assert [row.split()[:2] for row in rows] == [["MSFT", "L2"]] * 2
    assert rows[0].split()[3:] == ["ask", "420.0000", "100", "1"]
    assert prints.splitlines()[0].split()[:3] == ["symbol", "feed", "seq"]
    assert prints.splitlines()[1].split() == ["MSFT", "trade", "1", "100", "420.0000", "buy"]
    down = subprocess.run(
        [str(STX), "feed", "AAPL", "--endpoint", f"tcp://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, **client_environ(port)},
    )  # fmt: skip
    assert down.returncode == 1
    assert "is `stx serve` running?" in down.stderr


@pytest.mark.timeout(120)
def test_users_sign_in_and_trade_only_their_own_accounts(exchange: Exchange) -> None:
    data, port = exchange.data, exchange.port
    created = subprocess.run(
        [str(STX), "admin", "create-user", "zoe", "--email", "zoe@example.com",
         "--role", "trader", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "STX_PASSWORD": "a long secret passphrase"},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "account ZOE" in created.stdout
    prepare_accounts(port, admin_token(port), "ZOE")
    unsigned = _stx(port, "order", "buy", "AAPL", "10", "@189.00", "--account", "ZOE")
    assert unsigned.returncode == 1
    assert "not signed in: run `stx login`" in unsigned.stderr
    SESSION["STX_PASSWORD"] = "a long secret passphrase"
    signed = _stx(port, "login", "--username", "zoe")
    assert signed.returncode == 0, signed.stderr
    assert oct(Path(SESSION["STX_TOKEN_FILE"]).stat().st_mode & 0o777) == "0o600"
    mine = _stx(port, "order", "buy", "AAPL", "10", "@189.00", "--account", "ZOE")
    assert mine.returncode == 0, mine.stderr
    theirs = _stx(port, "order", "buy", "AAPL", "10", "@189.00", "--account", "ADMIN")
    assert theirs.returncode == 1
    assert "not one of yours" in theirs.stderr
    verified = subprocess.run(
        [str(STX), "audit", "verify", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "auth_log" in verified.stdout
    assert "chain intact" in verified.stdout
    wrong = _stx(port, "login", "--username", "zoe")
    assert wrong.returncode == 0  # same password: a second session
    assert _stx(port, "logout").stdout.strip() == "signed out"
    after = _stx(port, "orders", "--account", "ZOE")
    assert after.returncode == 1
    assert after.stderr == "Error: not signed in: run `stx login`\n"


@pytest.mark.timeout(120)
def test_the_rest_bridge_runs_as_its_own_process(exchange: Exchange) -> None:
    port = exchange.port  # it requires client certificates
    rest_port = free_port()
    # Over TLS both ways: HTTPS to browsers, mutual TLS to the gRPC port,
    # with the local CA `stx serve` made in its data directory.
    bridge = subprocess.Popen(
        [str(STX), "rest", "--grpc", f"127.0.0.1:{port}", "--port", str(rest_port),
         "--data-dir", str(exchange.data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    https = ssl.create_default_context(cafile=TLS_OF_PORT[port] / "ca.pem")
    try:
        quote = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{rest_port}/market-data/AAPL", timeout=2, context=https
                ) as answer:
                    quote = json.loads(answer.read())["quote"]
                break
            except OSError:
                time.sleep(0.1)
        assert quote is not None
        assert quote["symbol"] == "AAPL"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                f"https://127.0.0.1:{rest_port}/orders", timeout=5, context=https
            )
        assert refused.value.code == 401  # sign-in is enforced behind the bridge too
    finally:
        bridge.terminate()
        bridge.wait(10)


@pytest.mark.timeout(120)
def test_loadtest_reports_the_documented_figures(exchange: Exchange) -> None:
    port = exchange.port
    _sign_in(port)
    for _ in range(2):  # a second run on the same server must not collide
        result = _stx(
            port,
            "loadtest",
            "--rate",
            "400",
            "--duration",
            "1",
            "--streams",
            "2",
            "--batch",
            "5",
            "--json",
        )
        assert result.returncode == 0, result.stderr
        figures = json.loads(result.stdout)
        for key in ("orders_per_sec", "p50_us", "p99_us", "p999_us", "errors"):
            assert key in figures
        assert figures["errors"] == 0
        assert figures["acknowledged"] == figures["offered"] == 400
        assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["p999_us"]


@pytest.mark.timeout(120)
def test_simulate_keeps_a_market_trading(exchange: Exchange) -> None:
    port = exchange.port
    _sign_in(port)
    # Twice with one seed: the second run uses client order ids of its own
    # (issue 16: it reused the first's and every order was a duplicate).
    for _ in range(2):
        result = _stx(port, "simulate", "--duration", "2", "--rate", "300", "--seed", "3")
        assert result.returncode == 0, result.stderr
        numbers = [int(word) for word in result.stdout.split() if word.isdigit()]
        sent, refused, fills = numbers[-3:]
        assert sent > 50
        assert fills > 0
        # Sizes fit each price (1 share of BRK.A, not 100): the risk controls
        # refuse none of the simulated market's orders.
        assert refused == 0, result.stdout


@pytest.mark.timeout(120)
def test_serve_with_simulate_is_a_moving_market_with_demo_users(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path / "data", port, simulate=True)
    try:
        for _ in range(100):
            ladder = _stx(port, "book", "AAPL", "--once")
            if ladder.returncode == 0 and "no trade yet" not in ladder.stdout:
                break
            time.sleep(0.2)
        assert "last " in ladder.stdout
        SESSION["STX_PASSWORD"] = "market-open-0930"
        signed = _stx(port, "login", "--username", "demo")
        assert signed.returncode == 0, signed.stderr
        placed = _stx(port, "order", "buy", "AAPL", "1", "@185.00", "--account", "DEMO")
        assert placed.returncode == 0, placed.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    log = (tmp_path / "serve.log").read_text()
    assert "demo user demo, password market-open-0930" in log
