"""The server's supervised child processes (``stx serve --simulate``), with
real child processes: restarts with a growing pause and a bound, a clean stop,
a kill for a child that will not stop, and how the simulator is launched."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from server.processes.child import SUPERVISOR_PID
from server.processes.simulator import SIMULATOR_COMMAND, simulator_launch
from server.supervisor import Launch, SupervisedChild


class Lines(logging.Handler):
    """The supervisor's log, kept for the test to read."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _python(code: str) -> Launch:
    return Launch((sys.executable, "-c", code), dict(os.environ))


def _logger(name: str) -> tuple[logging.Logger, Lines]:
    log = logging.getLogger(f"test.supervisor.{name}")
    lines = Lines()
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    return log, lines


async def _until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never came true"
        await asyncio.sleep(0.02)


def test_a_child_that_keeps_dying_is_restarted_a_few_times_then_left_alone() -> None:
    log, lines = _logger("dying")

    async def scenario() -> SupervisedChild:
        child = SupervisedChild(
            "crasher",
            lambda: _python("print('starting up'); raise SystemExit(3)"),
            restarts=2,
            first_pause=0.05,
            log=log,
        )
        child.start()
        await asyncio.wait_for(child.finished(), 30)
        await child.stop()
        return child

    child = asyncio.run(scenario())
    assert child.starts == 3  # the first run and two restarts
    assert child.exit_codes == [3, 3, 3]
    assert "crasher: starting up" in lines.lines  # its output, in the server's log
    assert "crasher exited with code 3; restart 1 of 2 in 0.1 s" in lines.lines
    assert "crasher exited with code 3; restart 2 of 2 in 0.1 s" in lines.lines
    assert lines.lines[-1] == (
        "crasher exited with code 3; not restarted after 2 restarts: the server goes on"
    )


def test_a_child_that_ran_steadily_before_dying_gets_its_restarts_back() -> None:
    log, _ = _logger("steady")

    async def scenario() -> SupervisedChild:
        child = SupervisedChild(
            "steady",
            lambda: _python("import time; time.sleep(0.3); raise SystemExit(4)"),
            restarts=1,
            first_pause=0.01,
            steady_seconds=0.2,
            log=log,
        )
        child.start()
        await _until(lambda: child.starts >= 4)
        await child.stop()
        return child

    child = asyncio.run(scenario())
    # One restart allowed, yet each run lasted long enough to count as healthy.
    assert child.exit_codes[:3] == [4, 4, 4]


def test_stop_interrupts_the_child_and_does_not_restart_it() -> None:
    log, lines = _logger("stopping")
    code = (
        "import time\n"
        "try:\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted: a clean stop')\n"
    )

    async def scenario() -> tuple[SupervisedChild, int | None]:
        child = SupervisedChild("sleeper", lambda: _python(code), first_pause=0.01, log=log)
        child.start()
        await _until(lambda: "sleeper: ready" in lines.lines)
        pid = child.pid
        await child.stop()
        return child, pid

    child, pid = asyncio.run(scenario())
    assert pid is not None
    assert child.exit_codes == [0]
    assert child.starts == 1
    assert "sleeper: interrupted: a clean stop" in lines.lines
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_stop_lets_a_restarted_child_finish_starting_then_stops_it_cleanly() -> None:
    """Interrupted in its start (no handler yet), a child ends with a traceback
    instead of its clean stop: the stop waits for the restart's ready line."""
    log, lines = _logger("restarting")
    code = (
        "import time\n"
        "time.sleep(1.0)  # starting: an interrupt here is a KeyboardInterrupt\n"
        "try:\n"
        "    print('ready now', flush=True)\n"
        "    time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped cleanly')\n"
    )

    async def scenario() -> SupervisedChild:
        child = SupervisedChild(
            "restarting", lambda: _python(code), first_pause=0.01, grace=10,
            ready_marker="ready now", log=log,
        )  # fmt: skip
        child.start()
        assert await child.started() is None
        pid = child.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await _until(lambda: child.starts == 2 and child.pid not in (None, pid))
        await asyncio.wait_for(child.stop(), 30)  # while the restart is starting
        return child

    child = asyncio.run(scenario())
    assert child.exit_codes == [-9, 0]
    assert "restarting: stopped cleanly" in lines.lines


def test_a_child_that_ignores_the_interrupt_is_killed_after_the_grace() -> None:
    log, lines = _logger("stubborn")
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )

    async def scenario() -> SupervisedChild:
        child = SupervisedChild("stubborn", lambda: _python(code), grace=0.5, log=log)
        child.start()
        await _until(lambda: "stubborn: ready" in lines.lines)
        await asyncio.wait_for(child.stop(), 20)
        return child

    child = asyncio.run(scenario())
    assert child.exit_codes == [-9]
    assert "stubborn did not stop within 0.5 s: killed" in lines.lines


def test_the_simulator_gets_its_token_in_the_environment_never_on_the_command_line() -> None:
    minted = iter(("token-one", "token-two"))
    environ = {
        "PATH": "/usr/bin",
        "STX_ADMIN_PASSWORD": "server secret",
        "STX_DATABASE_URL": "postgresql://stx:pw@db/stx",
        "STX_TARGET": "elsewhere:1",
    }
    files = (Path("/data/tls/ca.pem"), Path("/data/tls/client.pem"), Path("/data/tls/key.pem"))
    launch = simulator_launch("127.0.0.1:5000", files, lambda: next(minted), environ)
    first, second = launch(), launch()
    assert list(first.argv) == [
        *SIMULATOR_COMMAND,
        "--target", "127.0.0.1:5000",
        "--ca", "/data/tls/ca.pem",
        "--cert", "/data/tls/client.pem",
        "--key", "/data/tls/key.pem",
    ]  # fmt: skip
    assert not any("token" in word for word in first.argv)
    # A fresh token for each start; none of the server's own STX_* settings,
    # but whom to die with (the process starting it).
    assert first.environ == {
        "PATH": "/usr/bin", "STX_TOKEN": "token-one", SUPERVISOR_PID: str(os.getpid())
    }  # fmt: skip
    assert second.environ["STX_TOKEN"] == "token-two"


def test_the_simulator_of_a_plaintext_server_speaks_plaintext() -> None:
    launch = simulator_launch("127.0.0.1:5000", None, lambda: "t", {})()
    assert list(launch.argv) == [*SIMULATOR_COMMAND, "--target", "127.0.0.1:5000", "--plaintext"]


def test_a_child_is_started_at_its_ready_line_and_one_never_ready_stays_down() -> None:
    log, lines = _logger("ready")

    async def scenario() -> None:
        ready = SupervisedChild(
            "ready",
            lambda: _python("import time; print('warming up'); print('ready now', flush=True); "
                            "time.sleep(60)"),
            ready_marker="ready now",
            log=log,
        )  # fmt: skip
        ready.start()
        assert await ready.started() is None
        assert ready.ever_ready
        await ready.stop()
        refused = SupervisedChild(
            "refused", lambda: _python("raise SystemExit(2)"), ready_marker="ready now", log=log
        )
        refused.start()
        assert await refused.started() == 2
        await refused.finished()
        assert refused.starts == 1

    asyncio.run(scenario())
    assert "ready: warming up" in lines.lines
    assert not any("ready now" in line for line in lines.lines)
    assert "refused exited with code 2 before it was ready" in lines.lines
