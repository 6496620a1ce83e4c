"""Is this container's process serving? The image's HEALTHCHECK, and an exec
probe where an HTTP one cannot be used.

    python /opt/stx/healthcheck.py [ROLE] [stx serve's options]

Without arguments it checks the process the container runs: PID 1's command
line, ``stx serve ROLE [--config FILE] [--data-dir DIR] [--grpc-port N]
[--rest-port N]``, so the ports come from the same settings the process read
(the file and the ``STX_*`` variables of the container). Every role must
answer ``/metrics`` on its port (base + the role's offset); the gateway
must also accept connections on its gRPC port, the FIX gateway on its
``[fix]`` port, and the REST bridge answer ``/healthz``. Exit 0 when
healthy, 1 with one line saying what failed.

The REST probe does not verify the server's certificate: it asks the
process on this host's loopback whether it serves, not who it is, and the
certificate need not name 127.0.0.1 (your own, in production).
"""

from __future__ import annotations

import socket
import ssl
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from server.config import ConfigError, Settings, load
from server.metrics.exposition import OFFSETS, OPTIONAL_OFFSETS, STANDBY_OFFSETS, port_of

TIMEOUT = 3.0


def serve_arguments(command_line: Sequence[str]) -> list[str]:
    """What follows ``serve`` in a ``stx serve ...`` command line (empty if
    the command is no ``stx serve``)."""
    arguments = list(command_line)
    if "serve" not in arguments:
        return []
    return arguments[arguments.index("serve") + 1 :]


def _option(arguments: Sequence[str], name: str) -> str | None:
    for index, argument in enumerate(arguments):
        if argument == name and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
    return None


def settings_of(arguments: Sequence[str]) -> tuple[str, Settings]:
    """The role and the settings of ``stx serve ROLE [options]``."""
    known = {**OFFSETS, **OPTIONAL_OFFSETS, **STANDBY_OFFSETS}
    roles = [argument for argument in arguments if argument in known]
    if not roles:
        raise ConfigError(f"no role among {list(arguments)}: give one of {sorted(known)}")
    config = _option(arguments, "--config")
    settings = load(Path(config) if config else None)
    data_dir = _option(arguments, "--data-dir")
    if data_dir is not None:
        settings = replace(settings, data_dir=Path(data_dir))
    grpc_port = _option(arguments, "--grpc-port")
    if grpc_port is not None:
        settings = replace(settings, grpc_port=int(grpc_port))
    rest_port = _option(arguments, "--rest-port")
    if rest_port is not None:
        settings = replace(settings, rest_port=int(rest_port))
    return roles[0], settings


def _get(url: str, context: ssl.SSLContext | None = None) -> None:
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as response:
        if response.status != 200:
            raise OSError(f"{url} answered {response.status}")


def check(role: str, settings: Settings) -> None:
    """Raises OSError naming what does not answer."""
    metrics = port_of(role, settings.metrics_port)
    if metrics:
        _get(f"http://127.0.0.1:{metrics}/metrics")
    if role == "gateway":
        with socket.create_connection(("127.0.0.1", settings.grpc_port), timeout=TIMEOUT):
            pass
    if role == "fix":
        with socket.create_connection(("127.0.0.1", settings.fix.port), timeout=TIMEOUT):
            pass
    if role == "rest":
        if settings.tls.enabled:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            _get(f"https://127.0.0.1:{settings.rest_port}/healthz", context)
        else:
            _get(f"http://127.0.0.1:{settings.rest_port}/healthz")


def main(argv: Sequence[str]) -> int:
    if argv:
        arguments = list(argv)
    else:
        arguments = serve_arguments(Path("/proc/1/cmdline").read_bytes().decode().split("\0"))
    try:
        role, settings = settings_of(arguments)
        check(role, settings)
    except (ConfigError, OSError, ValueError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
