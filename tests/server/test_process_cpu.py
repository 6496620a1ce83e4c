"""The CPU time of a process tree, as ``stx bench server`` reads it."""

import subprocess
import sys
import time
from pathlib import Path

from server.bench.process_cpu import tree_cpu_seconds

_BUSY_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time\\nend = time.process_time() + 0.6\\n"
                          "while time.process_time() < end: pass\\nimport sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
print(child.pid, flush=True)
sys.stdin.read()
"""


def test_a_busy_live_child_counts_in_its_parents_tree() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _BUSY_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        child_seconds = tree_cpu_seconds(child)
        deadline = time.monotonic() + 30
        while (child_seconds or 0) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
            child_seconds = tree_cpu_seconds(child)
        assert child_seconds is not None
        assert child_seconds >= 0.5
        # The parent itself only waits: the tree's time is mostly the child's.
        assert (tree_cpu_seconds(parent.pid) or 0) >= child_seconds
    finally:
        parent.kill()
        parent.wait()


def test_a_process_that_does_not_exist_has_no_figure() -> None:
    beyond_any_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    assert tree_cpu_seconds(beyond_any_pid) is None
