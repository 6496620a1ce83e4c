"""The report writers' edges: the format a file name implies, and the
progress bar only on a terminal."""

from __future__ import annotations

import io

import click
import pytest

from clients.report_files import output_format, progress


class Terminal(io.StringIO):
    """Standard error as an interactive terminal sees it."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_on_a_terminal_only() -> None:
    terminal = Terminal()
    with progress("order events", terminal) as advance:
        advance(10_000)
        advance(2_345)
    assert "order events" in terminal.getvalue()
    assert "12345" in terminal.getvalue()
    piped = io.StringIO()
    with progress("order events", piped) as advance:
        advance(10_000)
    assert piped.getvalue() == ""


def test_the_format_follows_the_file_name_unless_given() -> None:
    assert output_format(None, "day.PDF") == "pdf"
    assert output_format(None, "x/day.parquet") == "parquet"
    assert output_format("csv", "day.pdf") == "csv"
    with pytest.raises(click.BadParameter, match="cannot tell the format"):
        output_format(None, "day.xlsx")
