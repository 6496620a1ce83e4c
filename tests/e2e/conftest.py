"""End-to-end tests leave no server running, whatever their outcome."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.serve import STARTED


@pytest.fixture(autouse=True)
def _no_server_left() -> Iterator[None]:
    """Kill whatever a test left running (children die with their supervisor)."""
    yield
    for server in STARTED:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    STARTED.clear()
