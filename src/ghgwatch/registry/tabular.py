"""CSV and XLSX export and import of the registry tables.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
Import has two modes: ``partial`` keeps the good rows and reports the bad ones; ``atomic`` writes
nothing when any row is bad. A row with an ``id`` updates that row; without one it creates a row.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from ghgwatch.kit.cells import safe_row
from ghgwatch.kit.problems import Problem
from ghgwatch.registry import service
from ghgwatch.registry.specs import EntitySpec
from ghgwatch.security.principal import Principal
from ghgwatch.store.base import Base


class ImportMode(StrEnum):
    PARTIAL = "partial"
    ATOMIC = "atomic"


class TableFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def columns(spec: EntitySpec) -> list[str]:
    return list(spec.read.model_fields)


def _cell(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def export_rows(spec: EntitySpec, rows: list[Base], fmt: TableFormat) -> bytes:
    names = columns(spec)
    records = [[_cell(getattr(spec.read.model_validate(row), n)) for n in names] for row in rows]
    if fmt is TableFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(safe_row("" if v is None else v for v in record) for record in records)
        return buffer.getvalue().encode()
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(spec.path)
    sheet.append(names)
    for record in records:
        sheet.append(safe_row(record))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_table(data: bytes, fmt: TableFormat) -> list[dict[str, Any]]:
    """Parse a file into row dicts (empty cells omitted). Raises a 400 problem on an unreadable file."""
    try:
        if fmt is TableFormat.CSV:
            reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
            return [{k.strip(): v for k, v in row.items() if k and v not in (None, "")} for row in reader]
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    except (UnicodeDecodeError, csv.Error, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise Problem(400, "Unreadable file", "cannot read the {format} file: {error}", type_="bad-file",
                      values={"format": fmt.value, "error": str(exc)}) from exc
    if not rows:
        return []
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    return [{h: v for h, v in zip(header, row, strict=False) if h and v not in (None, "")} for row in rows[1:]]


@dataclass
class RowError:
    row: int
    errors: list[dict[str, Any]]


@dataclass
class ImportReport:
    mode: ImportMode
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not (self.mode is ImportMode.ATOMIC and self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "written": self.written,
            "created": self.created if self.written else 0,
            "updated": self.updated if self.written else 0,
            "errors": [{"row": e.row, "errors": e.errors} for e in self.errors],
        }


def _decode(schema: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    for name, info in schema.model_fields.items():
        if name in out and isinstance(out[name], str) and "dict" in str(info.annotation):
            with contextlib.suppress(json.JSONDecodeError):  # left as text: validation reports the field
                out[name] = json.loads(out[name])
    return out


def _read_only(spec: EntitySpec, schema: type[BaseModel]) -> set[str]:
    return set(spec.read.model_fields) - set(schema.model_fields)


def _pydantic_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


async def import_rows(
    session: Any,
    actor: Principal,
    spec: EntitySpec,
    rows: list[dict[str, Any]],
    mode: ImportMode,
) -> ImportReport:
    """Validate and write rows; each row runs in a savepoint so one bad row cannot spoil the others.

    In ``atomic`` mode an outer savepoint is rolled back when any row is bad, so nothing is written.
    """
    outer = await session.begin_nested()
    report = await _import_each(session, actor, spec, rows, ImportReport(mode))
    if report.written:
        await outer.commit()
    else:
        await outer.rollback()
    return report


async def _import_each(
    session: Any, actor: Principal, spec: EntitySpec, rows: list[dict[str, Any]], report: ImportReport
) -> ImportReport:
    for number, raw in enumerate(rows, start=2):
        key = raw.pop("id", None)
        existing = None
        if key is not None:
            try:
                existing = await session.get(spec.model, int(key))
            except (TypeError, ValueError):
                report.errors.append(RowError(number, [{"loc": ["id"], "msg": f"not an integer: {key!r}"}]))
                continue
        schema = spec.create if existing is None else spec.patch
        # Columns that an export carries but that cannot be written (ids derived from the parent,
        # timestamps) are dropped; any other unknown column is reported by validation.
        for name in _read_only(spec, schema):
            raw.pop(name, None)
        try:
            data = schema.model_validate(_decode(schema, raw))
        except ValidationError as exc:
            report.errors.append(RowError(number, _pydantic_errors(exc)))
            continue
        try:
            async with session.begin_nested():
                if existing is None:
                    await service.create(session, actor, spec, data)
                    report.created += 1
                else:
                    await service.update(session, actor, spec, int(str(key)), data)
                    report.updated += 1
        except Problem as exc:
            report.errors.append(RowError(number, exc.errors or [{"loc": [], "msg": exc.detail or exc.title}]))
    return report
