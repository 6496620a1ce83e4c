"""``stx serve --simulate`` runs the simulator as a supervised child process:
its token is in its environment and not on its command line, a killed
simulator is restarted while the server goes on, and it stops with the server."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.serve import free_port, start_server

STARTED = re.compile(r"simulator started \(pid (\d+)\)")


def _log_until(log: Path, pattern: str, count: int = 1, seconds: float = 60) -> str:
    """The server's log once ``pattern`` appears in it ``count`` times."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text()
        if len(re.findall(pattern, text)) >= count:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} not logged {count} times: {log.read_text()}")


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.timeout(180)
def test_the_simulator_is_a_supervised_child_process(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(tmp_path / "data", port, simulate=True)
    try:
        first = int(STARTED.findall(_log_until(log, STARTED.pattern))[0])
        command = Path(f"/proc/{first}/cmdline").read_bytes().split(b"\0")
        environ = Path(f"/proc/{first}/environ").read_bytes().split(b"\0")
        tokens = [entry for entry in environ if entry.startswith(b"STX_TOKEN=")]
        assert len(tokens) == 1
        assert len(tokens[0]) > len(b"STX_TOKEN=") + 20
        assert not any(tokens[0].removeprefix(b"STX_TOKEN=") in word for word in command)
        assert b"simulate" in command
        # None of the server's own secrets reach the client.
        assert not any(entry.startswith(b"STX_ADMIN_PASSWORD=") for entry in environ)

        os.kill(first, signal.SIGKILL)
        text = _log_until(log, STARTED.pattern, count=2)
        assert "simulator exited with code -9; restart 1 of 3 in 1.0 s" in text
        second = int(STARTED.findall(text)[1])
        assert second != first
        assert server.poll() is None  # the server went on
        # The new simulator trades: its five-second report comes after its start.
        _log_until(log, rf"\(pid {second}\)[\s\S]*simulator: simulate: \d+ orders, [1-9]")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert _gone(second)
    assert "stopped cleanly" in log.read_text()
