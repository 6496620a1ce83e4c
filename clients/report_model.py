"""A report as ``stx report`` holds it before writing it: titled tables of
text (the same rows for every format), charts, and what the document says
of them. ``report_files.py`` writes it as a table, CSV or Parquet,
``report_pdf.py`` as a PDF."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A titled table of a document (a PDF shows every section; CSV and
    Parquet hold the report's first, its data)."""

    title: str
    columns: tuple[str, ...]
    rows: list[list[str]]


@dataclass(frozen=True)
class Series:
    """One line or set of bars of a chart: labels (times or names) and values."""

    name: str
    labels: list[str]
    values: list[float]
    """Chart heights only: the figures themselves stay decimal text in the tables."""


@dataclass(frozen=True)
class Chart:
    """A chart of a document: lines over time, or bars per name with an
    optional second series on its own axis."""

    title: str
    kind: str
    """``"line"`` (labels are RFC 3339 times) or ``"bar"``."""
    series: list[Series]
    y_label: str
    second: Series | None = None
    second_label: str = ""


@dataclass
class Report:
    title: str
    date: str
    """The UTC day the report is of: the document's own date."""
    parameters: list[tuple[str, str]]
    sections: list[Section]
    integers: frozenset[str] = frozenset()
    """Columns that Parquet stores as 64-bit integers (the rest stay text:
    decimals keep their exact digits)."""
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Said under the title of a PDF (what a figure is, what is not known)."""
