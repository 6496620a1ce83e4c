"""What ``stx report`` writes: a report as rows of text (the same rows for
every format), and where and how it goes: a table on a terminal, CSV,
Parquet or a PDF document (``report_pdf.py``).

Every format is a function of the report's data and its day alone, so
building a report twice gives identical files: CSV has no timestamp of its
own, Parquet's metadata names only the writer's version, the PDF's dates
are the report's day (``report_pdf.py``).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from clients.report_model import Report, Section

FORMATS = ("table", "csv", "parquet", "pdf")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pdf": "pdf"}


def output_format(chosen: str | None, out: str) -> str:
    """The format asked for, else the one ``out``'s suffix names, else a
    table on a terminal and CSV elsewhere."""
    if chosen:
        return chosen
    if out != "-":
        suffix = Path(out).suffix.lower()
        if suffix not in _SUFFIXES:
            raise click.BadParameter(
                f"cannot tell the format from {out!r}: give --format or a name ending in "
                ".csv, .parquet or .pdf",
                param_hint="--out",
            )
        return _SUFFIXES[suffix]
    return "table" if sys.stdout.isatty() else "csv"


def deliver(report: Report, chosen: str | None, out: str) -> None:
    """Write ``report`` in the chosen format to ``out`` ("-": standard output)."""
    form = output_format(chosen, out)
    if form in ("parquet", "pdf") and out == "-":
        raise click.BadParameter(f"{form} is a file: give --out NAME", param_hint="--out")
    if form == "table":
        if out != "-":
            raise click.BadParameter("a table is for the terminal: give --format csv")
        write_table(report.sections[0], sys.stdout)
    elif form == "csv":
        if out == "-":
            write_csv(report.sections[0], sys.stdout)
        else:
            with open(out, "w", encoding="utf-8", newline="") as stream:
                write_csv(report.sections[0], stream)
    elif form == "parquet":
        write_parquet(report, Path(out))
    else:
        from clients.report_pdf import write_pdf  # noqa: PLC0415 - matplotlib only for a PDF

        write_pdf(report, Path(out))
    if out != "-":
        click.echo(f"{len(report.sections[0].rows):,} rows written to {out}", err=True)


def write_csv(section: Section, stream: IO[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(section.columns)
    writer.writerows(section.rows)


def write_parquet(report: Report, path: Path) -> None:
    # pyarrow takes a third of a second to import: only when a file is written,
    # not at every start of the `stx` command.
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    section = report.sections[0]
    columns = list(zip(*section.rows, strict=True)) if section.rows else [()] * len(section.columns)
    arrays = {
        name: (
            pa.array([int(value) for value in values], pa.int64())
            if name in report.integers
            else pa.array(list(values), pa.string())
        )
        for name, values in zip(section.columns, columns, strict=True)
    }
    pq.write_table(pa.table(arrays), path, compression="zstd")


def write_table(section: Section, stream: IO[str]) -> None:
    rows = section.rows
    widths = [
        max(len(cell) for cell in column) for column in zip(section.columns, *rows, strict=True)
    ]
    for line in (list(section.columns), *rows):
        # Text columns (symbol, ids, names) to the left, numbers to the right.
        stream.write(
            "  ".join(
                cell.rjust(width) if cell[:1].isdigit() or cell[:1] == "-" else cell.ljust(width)
                for cell, width in zip(line, widths, strict=True)
            ).rstrip()
            + "\n"
        )


@contextmanager
def progress(what: str, stream: IO[str] | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar on ``stream`` (standard error) while a long report is
    fetched, advanced by the rows each page brings; nothing when the stream
    is not a terminal (a script's log stays clean)."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield lambda rows: None
        return
    from rich.console import Console  # noqa: PLC0415 - only on a terminal
    from rich.progress import (  # noqa: PLC0415
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        "{task.description}",
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=stream, force_terminal=True),
        transient=False,
    ) as bar:
        task = bar.add_task(what, total=None)
        yield lambda rows: bar.advance(task, rows)
