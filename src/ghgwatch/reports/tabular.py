"""JSON, CSV and XLSX renderers of a :class:`ReportDocument`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ghgwatch.kit.cells import safe_cell, safe_row
from ghgwatch.reports.document import Cell, Lang, ReportDocument
from ghgwatch.reports.i18n import has_label, t

CSV_COLUMNS = ("section", "row", "column", "value")


def render_json(doc: ReportDocument, path: Path) -> None:
    path.write_text(json.dumps(doc.to_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")


def render_csv(doc: ReportDocument, path: Path) -> None:
    """Tidy CSV: one line per cell (section key, row number, column title, value), meta rows first.

    Sections have different columns, so a long format is the one CSV that round-trips all of them.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    w.writerow(["meta", 0, "inputs_sha256", doc.inputs_sha256])
    for label, value in doc.meta:
        w.writerow(safe_row(["meta", 0, label, value]))
    for sec in doc.sections:
        for i, row in enumerate(sec.rows, start=1):
            for col, cell in zip(sec.columns, row, strict=True):
                w.writerow(safe_row([sec.key, i, col, "" if cell is None else cell]))
    path.write_text(buf.getvalue(), "utf-8")


def _sheet_name(sheet: str, lang: Lang) -> str:
    key = f"sheet_{sheet}"
    return t(key, lang) if has_label(key) else sheet


def _xlsx_value(value: Cell) -> Cell:
    """A year or a count written as text ("2025") becomes a number cell."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return value


def _number_format(value: Cell) -> str | None:
    """Numbers stay numbers (Excel shows them in the reader's locale) with a fixed number of decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return "0" if 1900 <= value <= 2100 else "#,##0"
    return "#,##0.000" if abs(value) < 10 else "#,##0.0"


def _append(ws: Any, values: list[Cell]) -> None:
    ws.append([safe_cell(_xlsx_value(v)) for v in values])  # user text never a formula (issue 12, hole 7)
    for c in ws[ws.max_row]:
        fmt = _number_format(c.value)
        if fmt:
            c.number_format = fmt


def render_xlsx(doc: ReportDocument, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = _sheet_name("Summary", doc.lang)
    bold = Font(bold=True)
    first.append(safe_row([doc.title]))
    first["A1"].font = Font(bold=True, size=14)
    for label, value in doc.meta:
        _append(first, [label, value])
    first.append([])
    for sec in doc.sections:
        name = _sheet_name(sec.sheet, doc.lang)
        ws = wb[name] if name in wb.sheetnames else wb.create_sheet(name)
        if ws.max_row > 1 or ws["A1"].value is not None:
            ws.append([])
        ws.append(safe_row([sec.title]))
        ws.cell(ws.max_row, 1).font = bold
        ws.append(safe_row(sec.columns))
        for c in ws[ws.max_row]:
            c.font = bold
        for row in sec.rows:
            _append(ws, list(row))
        if sec.note:
            ws.append(safe_row([sec.note]))
    for ws in wb.worksheets:
        ws.column_dimensions["A"].width = 34
        for col in "BCDEFG":
            ws.column_dimensions[col].width = 20
    wb.save(path)
