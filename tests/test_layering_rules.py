"""The house rules of imports hold (``.importlinter``, docs/architecture.md).

import-linter checks the contracts: server -> feeds -> matching and never
back, clients -> the generated API only (never the server), server/ free of
clients/ but for its composition roots, and no import cycle between sibling
modules anywhere. The engine's "standard library only" is an allow-list, which
import-linter's contracts cannot say, so it is checked here on grimp's graph
(the one import-linter builds).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

import clients
import server

CONTRACTS = Path(__file__).resolve().parent.parent / ".importlinter"


def test_every_import_contract_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    # import-linter configures its logging with logging.config.dictConfig,
    # which disables every logger that exists already: the exchange's own,
    # so that log-capturing tests run after this one in the same process saw
    # nothing. They are enabled again as they were.
    loggers = logging.Logger.manager.loggerDict.values()
    enabled = [found for found in loggers if isinstance(found, logging.Logger)]
    enabled = [found for found in enabled if not found.disabled]
    try:
        code = lint_imports(config_filename=str(CONTRACTS), no_cache=True, no_logo=True)
    finally:
        for logger in enabled:
            logger.disabled = False
    assert code == 0, capsys.readouterr().out


def test_the_engine_imports_only_the_standard_library_and_itself() -> None:
    graph = grimp.build_graph("matching", include_external_packages=True)
    foreign = sorted(
        module
        for module in graph.modules
        if module.partition(".")[0] not in sys.stdlib_module_names | {"matching"}
    )
    assert foreign == []


def test_server_and_clients_restrict_grpc_to_the_same_tls13_suites() -> None:
    # Each package sets it for its own processes, since neither imports the other.
    assert server.TLS13_ONLY_CIPHER_SUITES == clients.TLS13_ONLY_CIPHER_SUITES
