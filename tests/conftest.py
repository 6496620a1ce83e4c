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


SERVER_GROUP = "servers"
"""The tests that start whole exchanges (`stx serve` and its seven processes,
the image's every role, the benchmarks' server pairs): under `make test`'s
two workers they run on one, one after another, so no two of them share the
machine's two cores; every other module runs whole on whichever worker is
free (its module fixtures are set up once)."""
SERVER_MODULES = (
    "tests/e2e/",
    "tests/deploy/test_image_layout.py",
    "tests/server/test_bench_cli.py",
    "tests/server/gateways/rest/test_rest_bench.py",
    # Not a whole exchange, but 117 FIX sessions at once whose 2 s heartbeats
    # must not be starved by one beside them.
    "tests/server/gateways/fix/test_acceptance.py",
)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers it too; this keeps `-p no:xdist` runs strict-clean.
    config.addinivalue_line("markers", "xdist_group(name): tests that run on one worker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test's xdist group, for ``--dist loadgroup``."""
    root = config.rootpath
    for item in items:
        module = item.path.relative_to(root).as_posix()
        group = SERVER_GROUP if module.startswith(SERVER_MODULES) else module
        item.add_marker(pytest.mark.xdist_group(group))
