"""A report as a PDF for people: title, parameters, notes, charts, tables.

Rendered by ``stx report`` on the client from the API's data, the same rows
the CSV holds (decision in docs/compliance.md, "Documents"): the analytics
process stays a store and its queries, and the document needs nothing the
API does not give. fpdf2 writes the document, matplotlib (its Agg renderer,
no display) the charts as PNG.

Building twice gives identical bytes: the document's creation date is the
report's own day (not the time it was built), the PDF's file id is a hash of
its content, the charts' PNGs carry no software stamp, and the fonts are the
PDF's built-in Helvetica and matplotlib's bundled DejaVu Sans.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from clients.report_model import Chart, Report, Section

_WIDTH_MM = 277  # A4 landscape, 10 mm margins
_MAX_COLUMNS_NORMAL = 10
"""Tables wider than this get the small font."""


def write_pdf(report: Report, path: Path) -> None:
    path.write_bytes(render(report))


def render(report: Report) -> bytes:
    day = datetime.datetime.fromisoformat(report.date).replace(tzinfo=datetime.UTC)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_creation_date(day)
    pdf.set_title(_text(report.title))
    pdf.set_creator("stx report")
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _text(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for name, value in report.parameters:
        pdf.cell(0, 5, _text(f"{name}: {value}"), new_x="LMARGIN", new_y="NEXT")
    for note in report.notes:
        pdf.multi_cell(0, 4.5, _text(note), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for chart in report.charts:
        png = chart_png(chart)
        if pdf.get_y() + 80 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.image(io.BytesIO(png), w=_WIDTH_MM * 0.8)
        pdf.ln(2)
    for section in report.sections:
        _table(pdf, section)
    return bytes(pdf.output())


def _table(pdf: FPDF, section: Section) -> None:
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 8, _text(section.title), new_x="LMARGIN", new_y="NEXT")
    if not section.rows:
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(0, 6, "(none)", new_x="LMARGIN", new_y="NEXT")
        return
    size = 8 if len(section.columns) <= _MAX_COLUMNS_NORMAL else 5
    pdf.set_font("Helvetica", "", size)
    with pdf.table(
        headings_style=FontFace(emphasis="BOLD", size_pt=size),
        line_height=size * 0.5,
        text_align="LEFT",
        wrapmode="CHAR",
        width=_WIDTH_MM,
    ) as table:
        for line in (list(section.columns), *section.rows):
            row = table.row()
            for cell in line:
                row.cell(_text(cell))
    pdf.ln(3)


def chart_png(chart: Chart) -> bytes:
    figure = Figure(figsize=(10, 3.6), dpi=110)
    axes = figure.subplots()
    axes.set_title(chart.title)
    axes.set_ylabel(chart.y_label)
    if chart.kind == "line":
        for series in chart.series:
            seconds = [_seconds_of_day(label) for label in series.labels]
            axes.step(seconds, series.values, where="post", label=series.name, marker=".")
        axes.xaxis.set_major_formatter(FuncFormatter(_clock))
        axes.set_xlabel("time (UTC)")
    else:
        (bars,) = chart.series
        axes.bar(bars.labels, bars.values, label=bars.name, color="#4c72b0")
        if chart.second is not None:
            other = axes.twinx()
            other.plot(chart.second.labels, chart.second.values, "o", color="#dd8452",
                       label=chart.second.name)  # fmt: skip
            other.set_ylabel(chart.second_label)
            other.legend(loc="upper right")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _seconds_of_day(label: str) -> float:
    """An RFC 3339 UTC time as seconds since its day's midnight (the x axis)."""
    moment = datetime.datetime.fromisoformat(label.replace("Z", "+00:00"))
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment - midnight).total_seconds()


def _clock(seconds: float, _: object) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _text(value: str) -> str:
    # The built-in fonts are Latin-1; anything else shows as "?" rather than failing.
    return value.encode("latin-1", "replace").decode("latin-1")
