"""The web frontend (web/, issue 19) in a real browser: Debian's chromium,
driven by playwright-core (web/e2e/*.e2e.mjs), against a real
`stx serve --simulate` and the web front (server/gateways/web.py) before it,
as `make run` starts them. The browser signs in, trades, cancels, sees
refusals with their reasons, tries another user's account and works the
kill switch; the administrator creates an API key, funds an account and reads
the order-event audit trail, and the dashboards draw the simulator's trading;
a risk officer with the risk page open sees a surveillance alert (a wash
trade made for it) appear live, with its evidence, and the dashboards chart
the gateway's order-entry throughput and latency; the administrator creates
a trader, disables them (their sign-in is then refused with the reason) and
verifies the audit logs (web/e2e/admin.e2e.mjs);
the pages' screenshots are left in web/test-results/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.serve import (
    ADMIN,
    ADMIN_PASSWORD,
    admin_token,
    free_port,
    prepare_accounts,
    start_server,
)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SCREENSHOTS = WEB / "test-results"
INSTALL_HINT = "the browser tests need chromium: apt-get install -y chromium"
DEMO_USER, DEMO_PASSWORD = "demo", "market-open-0930"
"""The demo trader `stx serve --simulate` creates and funds (account DEMO)."""


def _chromium() -> str:
    found = os.environ.get("STX_CHROMIUM") or shutil.which("chromium")
    if found is None:
        pytest.skip(INSTALL_HINT)
    return found


def _built() -> None:
    if not (WEB / "dist" / "index.html").is_file() or not (WEB / "node_modules").is_dir():
        pytest.fail("web/ is not built: run `make web` (npm ci and npm run build in web/)")


def _browser_tests() -> list[str]:
    """Every e2e/*.e2e.mjs, the trading test first: it reads the simulator's
    book as it is, before the others' orders have moved it."""
    found = sorted(str(path.relative_to(WEB)) for path in (WEB / "e2e").glob("*.e2e.mjs"))
    return sorted(found, key=lambda name: name != "e2e/trading.e2e.mjs")


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


# Every browser file runs in this one test, one after the other, in a browser
# of its own each: a loaded CI machine needs more than the suite's 300 s.
@pytest.mark.timeout(540)
def test_a_trader_and_a_risk_officer_in_the_browser(tmp_path: Path) -> None:
    chromium = _chromium()
    _built()
    port, rest_port, web_port = free_port(), free_port(), free_port()
    data = tmp_path / "data"
    start_server(data, port, simulate=True, rest_port=rest_port)
    # The second user sells into the trader's bid: it may sell short.
    prepare_accounts(port, admin_token(port), ADMIN.upper())
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's pages are checked below
    front = subprocess.Popen(
        [
            sys.executable, "-m", "server.gateways.web",
            "--port", str(web_port),
            "--bridge", f"https://127.0.0.1:{rest_port}",
            "--ca", str(data / "tls" / "ca.pem"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{web_port}/api/instruments")
        environment = {
            **os.environ,
            "WEB_URL": f"http://127.0.0.1:{web_port}",
            "TRADER_USER": DEMO_USER,
            "TRADER_PASSWORD": DEMO_PASSWORD,
            "TRADER_ACCOUNT": DEMO_USER.upper(),
            "OTHER_USER": ADMIN,
            "OTHER_PASSWORD": ADMIN_PASSWORD,
            "OTHER_ACCOUNT": ADMIN.upper(),
            "SCREENSHOTS": str(SCREENSHOTS),
            "CHROMIUM": chromium,
        }
        # Every browser test file in this one server run, one after the
        # other in the order _browser_tests gives (node --test would sort
        # them itself); each launches its browser.
        failures = []
        for tests in _browser_tests():
            result = subprocess.run(
                ["node", "--test", tests],
                cwd=WEB,
                env=environment,
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            if result.returncode != 0:
                failures.append(f"{tests}:\n{result.stdout[-6000:]}{result.stderr[-3000:]}")
    finally:
        front.terminate()
        front.wait(10)
    assert not failures, "\n".join(failures)
    pages = (
        "sign-in", "trading", "filled", "refused", "trading-light", "risk", "risk-limits",
        "risk-alerts", "order-entry",
    )  # fmt: skip
    for page in (*pages, "admin", "admin-users", "admin-audit", "dashboards"):
        assert (SCREENSHOTS / f"{page}.png").stat().st_size > 0
