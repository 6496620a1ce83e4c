"""schemathesis against /openapi.json: no server error, no answer off its schema.

The exchange runs on a thread of its own (schemathesis calls synchronously);
every operation gets a few generated requests, signed in as an account-wide
trader who is also an administrator (so the risk service's routes are
reached too). Skipped: server-streaming routes (they never end by themselves).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.app import Exchange
from server.gateways.rest import openapi
from tests.server.local import local_settings

EXAMPLES = 4


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[str]:
    started = threading.Event()
    address: list[str] = []
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()

    async def run() -> None:
        settings = local_settings(tmp_path)
        exchange = Exchange(settings)
        await exchange.start()
        assert exchange.directory is not None
        await exchange.directory.register(
            "fuzz", "fuzz@example.com", "a long passphrase here", roles=(2, 5)
        )
        address.append(f"http://127.0.0.1:{exchange.rest_port}")
        started.set()
        await stopping.wait()
        await exchange.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(60)
    yield address[0]
    loop.call_soon_threadsafe(stopping.set)
    thread.join(60)


def test_no_server_error_and_no_response_off_its_schema(bridge: str) -> None:
    login = requests.post(
        f"{bridge}/users/login",
        json={"username": "fuzz", "password": "a long passphrase here"},
        timeout=10,
    )
    headers = {"authorization": f"Bearer {login.json()['access_token']}"}
    schema = schemathesis.openapi.from_dict(openapi.document())
    schema.config.update(base_url=bridge)
    checked = 0
    calls = [0]
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        streaming = "x-ndjson" in str(operation.definition.raw.get("responses", {}))
        if streaming:
            continue

        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy())
        def probe(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            calls[0] += 1
            case.call_and_validate(
                headers=headers,
                timeout=10,
                checks=[not_a_server_error, response_schema_conformance],
            )

        probe()
        checked += 1
    assert checked >= 34  # every unary route of the contract
    assert calls[0] >= checked
