"""Fixtures for the whole suite: throwaway PostgreSQL and Redis servers."""

import compileall
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

import clients  # noqa: F401 - gRPC's TLS 1.3 policy, set before any test module loads grpc

# Servers the tests start serve no metrics unless a test gives them ports
# (tests/e2e/serve.py): the default 9100.. would collide between servers.
os.environ["STX_METRICS_PORT"] = "0"

pytest_plugins = ["tests.throwaway"]

# A suite started in the background of a non-interactive shell (`nohup make
# test &`, as a scripted clean-clone run does) inherits SIGINT ignored, and
# every process a test starts would too: the tests that stop a child with
# SIGINT, as ^C does in a terminal, then wait on a child that never hears it
# (`stx book --interval`, the supervisor's children, the core's snapshot
# child). A terminal's foreground job has the default; so do the tests.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matching", "feeds", "server", "clients", "tests", "protos/gen/python")
"""The repository's Python, which the processes the tests start import."""


def pytest_sessionstart(session: pytest.Session) -> None:
    """Bytecode for the repository's modules before the tests start their
    hundreds of Python processes (eight for each `stx serve`, one for each
    `stx` command). With PYTHONDONTWRITEBYTECODE set, as in the environment
    the suite's clean-clone runs had, none of them writes it, and each one
    compiled every module it imports from source again: about 0.8 s of CPU
    for a role's imports. The caches are read whether or not it is set;
    one out of date (its source edited) is compiled again here."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


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
the image's every role, the benchmarks' server pairs): with `make test
TEST_WORKERS=2`'s two workers they run on one, one after another, so no two of them share the
machine's two cores; every other module runs whole on whichever worker is
free (its module fixtures are set up once)."""
SERVER_MODULES = (
    "tests/e2e/",
    "tests/deploy/test_image_layout.py",
    "tests/server/test_bench_cli.py",
    "tests/server/gateways/rest/test_rest_bench.py",
    "tests/server/transport/test_listen.py",
    # Not a whole exchange, but 117 FIX sessions at once whose 2 s heartbeats
    # must not be starved by one beside them.
    "tests/server/gateways/fix/test_acceptance.py",
)


class ServersApart(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """xdist's scheduling by module, with every server module in one unit.
    (Its ``loadgroup`` marks cannot do this under pytest 9, whose test ids
    no longer take the group xdist appends to them.)"""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return SERVER_GROUP if module.startswith(SERVER_MODULES) else module


@pytest.hookimpl(optionalhook=True)  # a run with -p no:xdist has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> ServersApart:
    return ServersApart(config, log)
