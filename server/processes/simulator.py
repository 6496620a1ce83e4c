"""``stx serve --simulate``: the market simulator as a supervised child process.

The simulator is a client like any other (``clients/simulate.py``, run as
``stx simulate``), so the server starts it as a separate process over
loopback gRPC instead of importing it: server/ imports nothing from clients/
(the house rules, tests/test_layering_rules.py). It trades for many
accounts, so it signs with an administrator token the server mints for each
start; the token travels in the child's environment (``STX_TOKEN``), never
on its command line. The child gets none of the server's own ``STX_*``
settings (database URL, passwords, PINs): only what it needs. It dies with
the gateway that started it (``PR_SET_PDEATHSIG``, as the roles die with the
supervisor): a gateway killed and restarted must not leave a second
simulator trading beside the one its successor starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from server.processes.child import SUPERVISOR_PID
from server.supervisor import Launch

SIMULATOR_COMMAND = (sys.executable, "-m", "server.cli", "simulate")
"""``stx simulate``, with the interpreter running this server."""


def simulator_launch(
    target: str,
    tls_files: tuple[Path, Path | None, Path | None] | None,
    mint_token: Callable[[], str],
    environ: Mapping[str, str] = os.environ,
) -> Callable[[], Launch]:
    """How to start ``stx simulate`` against ``target``: trusting the CA of
    ``tls_files`` (CA, client certificate, client key) or in plaintext when
    None, with a token from ``mint_token`` for each start."""
    argv = [*SIMULATOR_COMMAND, "--target", target]
    if tls_files is None:
        argv.append("--plaintext")
    else:
        ca, cert, key = tls_files
        argv += ["--ca", str(ca)]
        if cert is not None and key is not None:
            argv += ["--cert", str(cert), "--key", str(key)]
    inherited = {name: value for name, value in environ.items() if not name.startswith("STX_")}

    def launch() -> Launch:
        return Launch(
            tuple(argv),
            {**inherited, "STX_TOKEN": mint_token(), SUPERVISOR_PID: str(os.getpid())},
        )

    return launch
