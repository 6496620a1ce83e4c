"""``stx serve``: every role of the exchange, each in its own process.

The supervisor takes the data directory's lock (a second ``stx serve`` on it
is refused) and starts the roles in dependency order, each waiting for the
previous group to say it is ready: the core (``core.sock`` accepting), then
the gateway (it makes the store's schema and keys and the local CA the others
use), then the consumers (projector, surveillance, feed), then the REST
bridge in front of the gateway. A role that fails to start ends the whole
start with its exit code (2: a setting to fix, 1: the data refused), after
its own one-line reason. Once running, a role that dies is started again
(``SupervisedChild``: a pause that doubles, a bounded number of times) and
catches up from the journal; one that keeps dying stops the server (exit 1).
SIGINT or SIGTERM stop the REST bridge and the gateway first (no new orders),
then the consumers (the projector finishing the store), the core last (its
final snapshot). Each child's output is logged here, prefixed by its role
(in JSON, each child's object passes through as it is: ``server/logs/relay.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import uvloop

from server.config import Settings
from server.datadir import PRIVATE_UMASK, lock_data_dir, prepare_data_dir
from server.logs.setup import configure_logging
from server.processes.child import LOCK_FD, SUPERVISOR_PID, ready_line
from server.processes.failures import REFUSED_EXIT, REFUSED_STARTS, SETTINGS_EXIT, STARTUP_ERRORS
from server.processes.starting import start_unless_stopped
from server.supervisor import Launch, SupervisedChild

_log = logging.getLogger("stx.supervisor")
START_GROUPS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("gateway",),
    ("projector", "surveillance", "analytics", "feed", "fix", "relay"),
    ("rest",),
)
STOP_GROUPS: tuple[tuple[str, ...], ...] = (
    ("rest", "gateway", "fix"),
    ("feed", "analytics", "surveillance", "projector", "relay"),
    ("core",),
)
GRACE_SECONDS = {
    "core": 60.0, "projector": 20.0, "analytics": 20.0, "relay": 20.0, "gateway": 15.0
}  # fmt: skip
"""How long each role may take to stop before it is killed (the core writes a
snapshot, the projector finishes the store); others get DEFAULT_GRACE."""
DEFAULT_GRACE = 10.0
_STX = Path(sys.executable).with_name("stx")
SERVE_COMMAND = (
    (str(_STX), "serve") if _STX.exists() else (sys.executable, "-m", "server.cli", "serve")
)
"""``stx serve``, by the installed command when there is one, so that ``ps``
(and ``stx bench``'s CPU by process) shows ``stx serve core``, ``stx serve
gateway``, ...; else through this interpreter."""
READY_LOG = "all processes started"
"""The line that says the whole server is up (tests wait for it)."""


class ExchangeProcesses:
    """The roles as supervised children of this process."""

    def __init__(
        self,
        options: Sequence[str],
        lock_fd: int,
        *,
        simulate: bool = False,
        fix: bool = False,
        relay: bool = False,
        first_pause: float = 0.5,
        command: Sequence[str] = SERVE_COMMAND,
    ) -> None:
        self._options = tuple(options)
        self._lock_fd = lock_fd
        self._simulate = simulate
        self._optional = {"fix": fix, "relay": relay}
        """The roles that run only when configured (the FIX gateway: sessions;
        the relay: a committed log to publish to)."""
        self._first_pause = first_pause
        self._command = tuple(command)
        self.children: dict[str, SupervisedChild] = {}

    def _launch(self, role: str) -> Launch:
        argv = [*self._command, role, *self._options]
        if role == "gateway" and self._simulate:
            argv.append("--simulate")
        environ = {
            **os.environ,
            SUPERVISOR_PID: str(os.getpid()),
            LOCK_FD: str(self._lock_fd),
            "PYTHONUNBUFFERED": "1",  # each log line reaches the supervisor as written
        }
        return Launch(tuple(argv), environ, pass_fds=(self._lock_fd,))

    async def start(self) -> int | None:
        """Start every role in order; None once all serve, else the exit code
        of the first that could not start (the ones started are stopped)."""
        for group in START_GROUPS:
            started = []
            for role in group:
                if not self._optional.get(role, True):
                    continue
                child = SupervisedChild(
                    role,
                    partial(self._launch, role),
                    first_pause=self._first_pause,
                    grace=GRACE_SECONDS.get(role, DEFAULT_GRACE),
                    ready_marker=ready_line(role),
                    log=_log,
                )
                self.children[role] = child
                child.start()
                started.append(child)
            codes = await asyncio.gather(*(child.started() for child in started))
            failed = [code for code in codes if code is not None]
            if failed:
                await self.stop()
                return failed[0] if failed[0] in (SETTINGS_EXIT, REFUSED_EXIT) else REFUSED_EXIT
        _log.info("%s: %s", READY_LOG, ", ".join(
            f"{role} (pid {child.pid})" for role, child in self.children.items()
        ))  # fmt: skip
        return None

    async def given_up(self) -> str:
        """Wait until a role keeps dying and is no longer restarted; its name."""
        waits = {
            asyncio.ensure_future(child.finished()): role for role, child in self.children.items()
        }
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()
        return waits[next(iter(done))]

    async def stop(self) -> None:
        for group in STOP_GROUPS:
            stopping = [self.children[role] for role in group if role in self.children]
            await asyncio.gather(*(child.stop() for child in stopping))


def child_options(config_path: Path | None, settings: Settings) -> list[str]:
    """The command-line options every role gets: the same configuration, the
    data directory and ports as resolved here."""
    options = [
        "--data-dir", str(Path(settings.data_dir).resolve()),
        "--grpc-port", str(settings.grpc_port),
        "--rest-port", str(settings.rest_port),
    ]  # fmt: skip
    if config_path is not None:
        options += ["--config", str(config_path)]
    return options


async def supervise(processes: ExchangeProcesses) -> int:
    """Start, then run until a stop is asked for (even during the start) or
    a role keeps failing; the exit code."""
    started = await start_unless_stopped(processes.start(), processes.stop, _log)
    if started is None:
        return 0
    starting, stop_requested = started
    code = starting.result()
    if code is not None:
        stop_requested.cancel()
        return code
    failing = asyncio.ensure_future(processes.given_up())
    await asyncio.wait((stop_requested, failing), return_when=asyncio.FIRST_COMPLETED)
    if failing.done():
        _log.error("%s keeps failing: stopping the server", failing.result())
        code = REFUSED_EXIT
    else:
        failing.cancel()
        _log.info("stop requested")
        code = 0
    await processes.stop()
    _log.info("stopped cleanly" if code == 0 else "stopped")
    return code


def run_all(settings: Settings, config_path: Path | None, simulate: bool = False) -> None:
    configure_logging(settings.log_format, settings.log_level, "supervisor")
    os.umask(PRIVATE_UMASK)  # everything created in the data directory is private
    directory = Path(settings.data_dir)
    try:
        prepare_data_dir(directory)
        lock = lock_data_dir(directory)  # held until this process and its children end
    except STARTUP_ERRORS as error:
        _log.critical("%s", error)
        raise SystemExit(SETTINGS_EXIT) from None
    except REFUSED_STARTS as error:
        _log.critical("cannot start: %s", error)
        raise SystemExit(REFUSED_EXIT) from None
    processes = ExchangeProcesses(
        child_options(config_path, settings), lock, simulate=simulate,
        fix=bool(settings.fix.sessions), relay=bool(settings.relay.url),
    )  # fmt: skip
    code = uvloop.run(supervise(processes))
    if code:
        raise SystemExit(code)
