"""CSV/XLSX import and export of the mine reference tables.

Rows are numbered as a spreadsheet shows them (header = row 1). A row with the ``record_key`` of an existing
record is a correction (a new version); without one it creates a record. ``atomic`` writes nothing when any
row is bad; ``partial`` keeps the good rows.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.problems import Problem
from ghgwatch.reference.minedb import service
from ghgwatch.reference.minedb.service import Kind
from ghgwatch.registry.tabular import ImportMode, ImportReport, RowError, TableFormat
from ghgwatch.security.principal import Principal


def export_rows(k: Kind, rows: list[Any], fmt: TableFormat) -> bytes:
    names = k.columns()
    records = []
    for row in rows:
        d = service.as_dict(row)
        records.append([json.dumps(d[n], ensure_ascii=False, sort_keys=True) if isinstance(d[n], dict)
                        else d[n] for n in names])
    if fmt is TableFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(["" if v is None else v for v in r] for r in records)
        return buffer.getvalue().encode()
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(k.path)
    sheet.append(names)
    for r in records:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _clean(k: Kind, raw: dict[str, Any]) -> dict[str, Any]:
    out = {name: value for name, value in raw.items() if name in k.schema.model_fields or name == "record_key"}
    for name in ("cell_status",):
        if isinstance(out.get(name), str):
            with contextlib.suppress(json.JSONDecodeError):  # left as text: validation names the field
                out[name] = json.loads(out[name])
    for name, value in list(out.items()):
        if isinstance(value, str) and value.strip().lower() in ("true", "false") and name in ("published",
                                                                                              "in_kuzbass"):
            out[name] = value.strip().lower() == "true"
    return out


@dataclass
class RefImportReport(ImportReport):
    """The registry's import report plus ``unchanged``: rows equal to the current version (no new version)."""

    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "unchanged": self.unchanged}


async def import_rows(session: AsyncSession, actor: Principal, k: Kind, rows: list[dict[str, Any]],
                      mode: ImportMode) -> RefImportReport:
    """Rows equal to the current version are counted ``unchanged`` and write nothing, so an exported file
    (which holds every row visible to you, public ones included) can be edited and imported again."""
    report = RefImportReport(mode)
    outer = await session.begin_nested()
    for number, raw in enumerate(rows, start=2):
        data = _clean(k, raw)
        key = data.pop("record_key", None)
        try:
            async with session.begin_nested():
                if key and await service.unchanged(session, actor, k, str(key), data):
                    report.unchanged += 1
                elif key:
                    await service.correct(session, actor, k, str(key), data)
                    report.updated += 1
                else:
                    await service.create(session, actor, k, data)
                    report.created += 1
        except Problem as exc:
            errors = exc.errors or [{"loc": [], "msg": exc.detail or exc.title}]
            report.errors.append(RowError(number, errors))
    if report.written:
        await outer.commit()
    else:
        await outer.rollback()
    return report
