"""A child process the server keeps running beside itself, and stops with itself.

``stx serve --simulate`` runs the market simulator this way: a client like
any other, in a process of its own, so the server imports none of it. The
child's output goes to the server's log line by line. If it ends on its own
(crash, refused start), the server logs it and goes on; it is started again
after a pause that doubles each time, a few times at most, and a run that
lasted ``steady_seconds`` counts as healthy and resets that budget. The
child gets a session of its own, so a ^C at the terminal reaches only the
server, which then stops the child itself: SIGINT (a clean stop), and
SIGKILL if it has not ended within ``grace`` seconds. A child restarted and
still starting first gets the grace to finish its start, so that it too stops
cleanly.

``stx serve`` supervises the exchange's own processes the same way
(``server/processes/supervise.py``). Those say when they serve by printing a
``ready_marker`` line (``started()`` waits for it; the line is not logged); one
that ends before it ever did is a start that failed, and is not restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from server.logs.relay import relay_line

_log = logging.getLogger("stx.supervisor")


@dataclass(frozen=True)
class Launch:
    """How to start the child once: its command line and its whole environment.

    Secrets belong in ``environ``, never in ``argv``: any local user can read
    a command line (``ps``), only the same user can read an environment."""

    argv: Sequence[str]
    environ: Mapping[str, str]
    pass_fds: tuple[int, ...] = ()
    """Descriptors the child inherits (the data directory's lock)."""


class SupervisedChild:
    """Runs ``launch()`` (called anew for each start) until ``stop``."""

    def __init__(
        self,
        name: str,
        launch: Callable[[], Launch],
        *,
        restarts: int = 3,
        first_pause: float = 1.0,
        steady_seconds: float = 60.0,
        grace: float = 5.0,
        ready_marker: str | None = None,
        log: logging.Logger = _log,
    ) -> None:
        self.name = name
        self._launch = launch
        self._restarts = restarts
        self._first_pause = first_pause
        self._steady_seconds = steady_seconds
        self._grace = grace
        self._log = log
        self._ready_marker = ready_marker
        self._run_ended = asyncio.Event()
        self._ready = asyncio.Event()
        self.ever_ready = False
        """Whether a run said it was ready (only with a ``ready_marker``)."""
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.starts = 0
        """How many times the child was started."""
        self.exit_codes: list[int] = []
        """The exit code of each run that ended, in order."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    @property
    def pid(self) -> int | None:
        """The running child's process id; None between runs or after the last."""
        return self._process.pid if self._process is not None else None

    async def started(self) -> int | None:
        """Wait for the current run to print its ``ready_marker`` line: None
        once it has, or its exit code if it ended first (then it is not
        restarted: a child that never started is a start that failed)."""
        ready = asyncio.ensure_future(self._ready.wait())
        ended = asyncio.ensure_future(self._run_ended.wait())
        try:
            await asyncio.wait((ready, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            ended.cancel()
        if self._ready.is_set():
            return None
        return self.exit_codes[-1] if self.exit_codes else 1

    async def finished(self) -> None:
        """Wait until the supervisor gives up (or is stopped)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            await self._restart_done()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), self._grace)
            except TimeoutError:
                self._log.warning("%s did not stop within %.1f s: killed", self.name, self._grace)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        task = self._task
        if task is None:
            return
        if process is not None:
            # It ended: the supervisor sees its output close, records the
            # exit and returns, unless something else holds the output open.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), self._grace)
        task.cancel()  # between runs: in its pause before a restart
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _restart_done(self) -> None:
        """A restarted run (one was ready before) that is still starting:
        wait, within the grace, until it is ready or has ended. Interrupted
        half-started, it would end before its handlers are in place (by the
        signal) and skip its own clean stop: a projector restarted just
        before a ^C left the store behind the journal. At the first start
        nothing waits: a stop then may be for a role that cannot start."""
        if not self.ever_ready or self._ready.is_set():
            return
        ready = asyncio.ensure_future(self._ready.wait())
        ended = asyncio.ensure_future(self._run_ended.wait())
        try:
            await asyncio.wait(
                (ready, ended), timeout=self._grace, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
            ended.cancel()

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._stopping:
            started = loop.time()
            code = await self._run_once()
            if self._stopping:
                return
            if self._ready_marker is not None and not self.ever_ready:
                self._log.error("%s exited with code %d before it was ready", self.name, code)
                return
            if loop.time() - started >= self._steady_seconds:
                failures = 0
            if failures >= self._restarts:
                self._log.error(
                    "%s exited with code %d; not restarted after %d restarts: the server goes on",
                    self.name, code, self._restarts,
                )  # fmt: skip
                return
            pause = self._first_pause * 2**failures
            failures += 1
            self._log.warning(
                "%s exited with code %d; restart %d of %d in %.1f s",
                self.name, code, failures, self._restarts, pause,
            )  # fmt: skip
            await asyncio.sleep(pause)

    async def _run_once(self) -> int:
        launch = self._launch()
        self._ready.clear()
        self._run_ended.clear()
        process = await asyncio.create_subprocess_exec(
            *launch.argv,
            env=dict(launch.environ),
            pass_fds=launch.pass_fds,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._process = process
        self.starts += 1
        self._log.info("%s started (pid %d)", self.name, process.pid)
        assert process.stdout is not None  # asked for above
        async for line in process.stdout:
            text = line.decode(errors="replace").rstrip()
            if self._ready_marker is not None and text == self._ready_marker:
                self.ever_ready = True
                self._ready.set()
                continue
            relay_line(self._log, self.name, process.pid, text)
        code = await process.wait()
        self._process = None
        self.exit_codes.append(code)
        self._run_ended.set()
        return code
