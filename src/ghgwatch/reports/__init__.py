"""Reports: annual GHG report (296-FZ form structure), inventory detail, monthly methane safety.

Builders take plain data (a calc result dict, a list of exceedances) and return a
:class:`ReportDocument`; :func:`render` writes it as PDF, XLSX, CSV or JSON.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from ghgwatch.reports.annual import build_annual_report, build_detail_report
from ghgwatch.reports.document import Chart, ReportDocument, Section
from ghgwatch.reports.methane_safety import (
    Exceedance,
    Reading,
    build_methane_safety_report,
    find_exceedances,
    read_readings_csv,
)

ReportFormat = Literal["pdf", "xlsx", "csv", "json"]


def render(doc: ReportDocument, fmt: ReportFormat, path: Path) -> None:
    if fmt == "pdf":
        from ghgwatch.reports.pdf import render_pdf

        render_pdf(doc, path)
        return
    from ghgwatch.reports import tabular

    {"xlsx": tabular.render_xlsx, "csv": tabular.render_csv, "json": tabular.render_json}[fmt](doc, path)


MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def render_bytes(doc: ReportDocument, fmt: ReportFormat) -> bytes:
    """Render to memory (through a temporary file, as the renderers write files). Blocking: call it from a
    worker thread in async code."""
    with tempfile.TemporaryDirectory(prefix="ghgwatch-report-") as tmp:
        path = Path(tmp) / f"report.{fmt}"
        render(doc, fmt, path)
        return path.read_bytes()


__all__ = [
    "MEDIA_TYPES",
    "Chart",
    "Exceedance",
    "Reading",
    "ReportDocument",
    "Section",
    "build_annual_report",
    "build_detail_report",
    "build_methane_safety_report",
    "find_exceedances",
    "read_readings_csv",
    "render",
    "render_bytes",
]
