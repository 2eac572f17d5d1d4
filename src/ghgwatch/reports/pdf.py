"""PDF renderer (fpdf2) with a Unicode TrueType font so that Cyrillic text is embedded and extractable.

DejaVu Sans ships with matplotlib (``mpl-data/fonts/ttf``), which is already a dependency of reports.
"""

from __future__ import annotations

import io
from pathlib import Path

from ghgwatch.i18n import format_number
from ghgwatch.reports.document import Cell, Chart, Lang, ReportDocument
from ghgwatch.reports.i18n import yes_no

FONT = "DejaVu"


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def chart_png(chart: Chart, lang: Lang = "en") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(7.5, 3.2), dpi=120)
    ax = fig.add_subplot()
    ax.bar(range(len(chart.values)), chart.values, color="#4c72b0")
    ax.set_xticks(range(len(chart.labels)), chart.labels, rotation=45, ha="right", fontsize=7)
    # Whole numbers in the locale's format on the axis, never an offset or a "1e6" multiplier.
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(v, lang, None)))
    ax.set_ylabel(chart.ylabel)
    ax.set_title(chart.title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _fmt(cell: Cell, lang: Lang) -> str:
    """One number format per locale (Babel, the same as the UI): 1 234,5 in Russian, 1,234.5 in English."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return yes_no(cell, lang)
    if isinstance(cell, float):
        return format_number(cell, lang, 3 if abs(cell) < 10 else 1)
    if isinstance(cell, int):
        return str(cell) if 1900 <= cell <= 2100 else format_number(cell, lang, 0)  # a year stays 2025
    return str(cell)


def render_pdf(doc: ReportDocument, path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format="A4")
    fonts = _font_dir()
    pdf.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(0, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    for label, value in doc.meta:
        pdf.multi_cell(0, 5, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for sec in doc.sections:
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(0, 7, sec.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 7.5)
        if sec.rows:
            with pdf.table(line_height=4.2, first_row_as_headings=True, col_widths=sec.widths) as table:
                table.row([str(c) for c in sec.columns])
                for r in sec.rows:
                    table.row([_fmt(c, doc.lang) for c in r])
        if sec.note:
            pdf.set_font(FONT, "", 8)
            pdf.multi_cell(0, 4.5, sec.note, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    if doc.chart is not None:
        if pdf.get_y() > 110:
            pdf.add_page()
        pdf.image(io.BytesIO(chart_png(doc.chart, doc.lang)), w=220)
    pdf.set_font(FONT, "", 7)
    pdf.multi_cell(0, 4, f"SHA-256: {doc.inputs_sha256}", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
