"""The Node.js example client (clients/node, TypeScript on the generated stubs
in protos/gen/typescript) against `stx serve` (issue 16, item 8): it signs in,
crosses two orders while it follows the OrderStream, cancels a resting order,
decodes the google.rpc details of a refusal and reads the market data, and
exits non-zero when an answer differs from what it expects."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.serve import ADMIN, ADMIN_PASSWORD, TLS_OF_PORT, free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "node"
BIN = ROOT / "node_modules" / ".bin"
STAMP = ROOT / "node_modules" / ".installed"
"""Written by `make node` after `npm ci` (the Makefile's NODE_STAMP)."""
MANIFESTS = (ROOT / "package.json", ROOT / "package-lock.json", CLIENT / "package.json")


def _node_tools() -> None:
    """Fail, saying how to get them, unless Node.js, npm and the locked
    packages are installed: the README promises Python and Node.js."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the Node.js client needs Node.js 20 or newer and"
            " npm (Debian: apt-get install nodejs npm), then `make node`"
        )
    if not STAMP.exists() or any(
        manifest.stat().st_mtime > STAMP.stat().st_mtime for manifest in MANIFESTS
    ):
        pytest.fail("node_modules is missing or older than package-lock.json: run `make node`")


def _client(port: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "tsx"), "src/main.ts", "--target", f"localhost:{port}", *arguments],
        cwd=CLIENT,
        env={**os.environ, "STX_PASSWORD": ADMIN_PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_node_client_type_checks_against_the_stubs_and_is_formatted() -> None:
    """tsc --strict over the client and the stubs it imports (tsx, which
    runs it, only strips types), and prettier over the client's sources."""
    _node_tools()
    for command in (
        [str(BIN / "tsc"), "--noEmit", "-p", str(CLIENT)],
        [str(BIN / "prettier"), "--check", "src"],
    ):
        result = subprocess.run(
            command, cwd=CLIENT, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(120)
def test_the_node_client_trades_against_a_real_server(tmp_path: Path) -> None:
    _node_tools()
    port = free_port()
    server = start_server(tmp_path / "data", port)
    ca = str(TLS_OF_PORT[port] / "ca.pem")
    accounts = ("--username", ADMIN, "--seller", "NODE-S", "--buyer", "NODE-B", "--ca", ca)
    try:
        result = _client(port, *accounts, "--prepare")
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("signed in as admin")
        assert "NODE-S: short selling allowed" in result.stdout
        assert "sell 100 AAPL @ 190.0000 for NODE-S: new" in result.stdout
        assert "trade #1: NODE-B bought 100 AAPL @ 190.0000 from NODE-S" in result.stdout
        assert "buy 100 AAPL @ 189.0000 for NODE-B: new" in result.stdout
        assert "cancelled (report" in result.stdout
        assert "@ 190.0050 refused: PRICE_NOT_ON_TICK" in result.stdout
        assert "NODE-S: 2 reports on the stream, NEW FILL" in result.stdout
        assert "NODE-B: 5 reports on the stream, NEW FILL NEW CANCELED REJECTED" in result.stdout
        assert "quote AAPL: last 190.0000 x 100, volume 100" in result.stdout
        assert "ListTrades AAPL: trade #1, 100 @ 190.0000" in result.stdout
        assert "SubscribeMarketData AAPL: quote snapshot, last 190.0000" in result.stdout
        assert lines[-1].startswith("all ")
        assert lines[-1].endswith(" checks passed")

        # A second run finds the book as the first left it and trades again.
        again = _client(port, *accounts)
        assert again.returncode == 0, again.stdout + again.stderr

        # An answer it does not expect: a price off the tick stops it with 1.
        off_tick = _client(port, *accounts, "--price", "190.001")
        assert off_tick.returncode == 1, off_tick.stdout + off_tick.stderr
        mismatch = "MISMATCH: 190.0010 is on the tick of AAPL (1 check passed before it)"
        assert mismatch in off_tick.stderr

        # A refusal it does not expect: 1, with the decoded ErrorInfo reason.
        unknown = _client(port, *accounts, "--symbol", "NOPE")
        assert unknown.returncode == 1, unknown.stdout + unknown.stderr
        assert "failed: NOT_FOUND UNKNOWN_SYMBOL: no instrument 'NOPE'" in unknown.stderr

        wrong = _client(port, *accounts, "--quantity", "ten")
        assert wrong.returncode == 2
        assert "--quantity must be a whole number of shares" in wrong.stderr
        assert "usage: tsx src/main.ts" in wrong.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
