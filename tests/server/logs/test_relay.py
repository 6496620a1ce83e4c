"""A supervised child's lines in the supervisor's log: JSON stays one object a line."""

from __future__ import annotations

import io
import json
import logging

from server.logs.relay import relay_line
from server.logs.setup import configure_logging

CHILD_LINE = json.dumps(
    {"time": "2026-12-07T10:00:00.000001Z", "level": "INFO", "logger": "stx.serve",
     "message": "recovered", "role": "core", "pid": 4242, "sequence": 7}
)  # fmt: skip


def test_a_json_line_passes_through_untouched(output: io.StringIO) -> None:
    configure_logging("json", "info", "supervisor", stream=output)
    relay_line(logging.getLogger("stx.supervisor"), "core", 4242, CHILD_LINE)
    assert output.getvalue() == CHILD_LINE + "\n"


def test_other_output_is_wrapped_with_the_childs_role(output: io.StringIO) -> None:
    configure_logging("json", "info", "supervisor", stream=output)
    relay_line(
        logging.getLogger("stx.supervisor"), "feed", 77, "Traceback (most recent call last):"
    )
    line = json.loads(output.getvalue())
    assert line["message"] == "Traceback (most recent call last):"
    assert (line["role"], line["pid"], line["logger"]) == ("feed", 77, "stx.supervisor")


def test_the_childs_level_counts_not_the_supervisors(output: io.StringIO) -> None:
    """The child filtered by its own level; the supervisor's does not drop its lines."""
    configure_logging("json", "warning", "supervisor", stream=output)
    relay_line(logging.getLogger("stx.supervisor"), "core", 4242, CHILD_LINE)
    assert output.getvalue() == CHILD_LINE + "\n"


def test_console_lines_keep_their_prefix_and_level(output: io.StringIO) -> None:
    configure_logging("console", "info", "supervisor", stream=output)
    relay_line(logging.getLogger("stx.supervisor"), "gateway", 5, "WARNING stx.x: careful")
    assert output.getvalue().endswith(" WARNING stx.supervisor: gateway: WARNING stx.x: careful\n")


def test_a_secret_in_a_childs_line_is_scrubbed(output: io.StringIO) -> None:
    configure_logging("json", "info", "supervisor", stream=output)
    relay_line(logging.getLogger("stx.supervisor"), "core", 1, "dsn postgresql://u:pw-123@h/db")
    relay_line(
        logging.getLogger("stx.supervisor"), "core", 1, '{"level": "INFO", "password": "pw-123"}'
    )
    assert "pw-123" not in output.getvalue()
    for line in output.getvalue().splitlines():
        json.loads(line)
