"""Fixtures for the whole suite: throwaway PostgreSQL and Redis servers."""

import os
from collections.abc import Iterator

import pytest

import clients  # noqa: F401 - gRPC's TLS 1.3 policy, set before any test module loads grpc

# Servers the tests start serve no metrics unless a test gives them ports
# (tests/e2e/serve.py): the default 9100.. would collide between servers.
os.environ["STX_METRICS_PORT"] = "0"

pytest_plugins = ["tests.throwaway"]


@pytest.fixture(autouse=True)
def _umask_restored() -> Iterator[None]:
    """`stx admin` and `stx serve` narrow the process's umask to 077 when a
    test runs them in-process; a later test must not inherit it."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
