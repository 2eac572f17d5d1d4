"""A neutral report document (titles, key-value meta, tables, one optional chart) that every renderer
(PDF, XLSX, CSV, JSON) consumes. Builders produce it from plain data, so the API can reuse them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Cell = str | float | int | bool | None
Lang = Literal["en", "ru"]


@dataclass(slots=True)
class Section:
    key: str  # stable machine name (csv/json), independent of the language
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    sheet: str = "Summary"  # XLSX sheet the section goes to
    note: str = ""
    widths: tuple[float, ...] | None = None  # relative column widths in the PDF (equal when None)


@dataclass(slots=True)
class Chart:
    title: str
    labels: list[str]
    values: list[float]
    ylabel: str


@dataclass(slots=True)
class ReportDocument:
    kind: str
    lang: Lang
    title: str
    meta: list[tuple[str, str]]
    sections: list[Section]
    inputs_sha256: str
    chart: Chart | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["meta"] = [list(m) for m in self.meta]
        return out
