"""What ``configure_logging`` changes in this process is put back after each test."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Where a test's configure_logging writes; the root logger, the warnings
    capture and the exception hook as they were after."""
    root = logging.getLogger()
    level, handlers, hook = root.level, list(root.handlers), sys.excepthook
    yield io.StringIO()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)
    sys.excepthook = hook
