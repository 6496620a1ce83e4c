"""``stx top --once`` against a real ``stx serve`` taking orders."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.serve import STX, free_port, free_port_block, start_server
from tests.e2e.test_metrics import _load

ROLES = ("core", "gateway", "projector", "surveillance", "feed", "rest", "analytics")


def test_top_once_shows_every_process_and_the_orders_acked(tmp_path: Path) -> None:
    port, base = free_port(), free_port_block()
    server = start_server(tmp_path / "data", port, metrics_port=base)
    try:
        # Load (1 s at a time) until top has shown its screen, so that its
        # interval holds some whatever top's own start-up takes: with one load
        # only, a slow start on a loaded machine put both scrapes after it.
        top = subprocess.Popen(
            [str(STX), "top", "--once", "--interval", "4", "--metrics-port", str(base)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while top.poll() is None and time.monotonic() < deadline:
            _load(port)
        screen, _ = top.communicate(timeout=60)
        assert top.returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    for role in ROLES:
        assert re.search(rf"^{role}\s+\d+\s+up\s", screen, re.MULTILINE), screen
    acked = re.search(r"^orders acked\s+([\d,.]+)/s \(([\d,]+) in all\)", screen, re.MULTILINE)
    assert acked is not None, screen
    assert float(acked.group(1).replace(",", "")) > 0, screen
    assert int(acked.group(2).replace(",", "")) > 0, screen
    assert re.search(r"^commands/s\s+new_order \d", screen, re.MULTILINE), screen
