"""Importing lab results: resolve sources, refuse duplicates, store all rows or none, run the instrument check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.kit.problems import Problem
from ghgwatch.lab.check import check_result
from ghgwatch.lab.models import LabResult
from ghgwatch.lab.parse import LabFileError, LabRow
from ghgwatch.lab.settings import LabSettings
from ghgwatch.registry.models import EmissionSource, Facility
from ghgwatch.security.principal import WRITERS, Principal


@dataclass
class ImportOutcome:
    results: list[LabResult]
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": len(self.results),
                "flagged": sum(1 for r in self.results if "sensor_drift" in r.flags),
                "alerts": sorted({c["alert_id"] for r in self.results for c in r.checks if "alert_id" in c}),
                "items": [result_dict(r) for r in self.results]}


def result_dict(r: LabResult) -> dict[str, Any]:
    return {
        "id": r.id, "organization_id": r.organization_id, "facility_id": r.facility_id, "source_id": r.source_id,
        "sample_id": r.sample_id, "sampled_at": r.sampled_at.isoformat(), "gas": r.gas,
        "concentration": r.concentration, "unit": r.unit, "method": r.method, "laboratory": r.laboratory,
        "certificate": r.certificate, "flags": list(r.flags), "checks": list(r.checks),
        "provenance": {"file_name": r.file_name, "row": r.file_row, "created_by": r.created_by,
                       "created_at": r.created_at.isoformat()},
    }


def _invalid(loc: str, message: str) -> Problem:
    return Problem(422, "Validation failed", f"{loc}: {message}", type_="validation",
                   errors=[{"loc": [loc], "msg": message}])


async def writable_facility(session: AsyncSession, actor: Principal, facility_id: int) -> Facility:
    """The facility, if it exists and the caller may write to it (403 otherwise; 422 naming it if unknown)."""
    actor.require_role(WRITERS)
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise _invalid("facility_id", f"facility {facility_id} does not exist")
    actor.require_org(facility.organization_id)
    return facility


async def import_results(session: AsyncSession, actor: Principal, facility_id: int, rows: list[LabRow],
                         file_name: str, settings: LabSettings) -> ImportOutcome:
    """Store ``rows`` for the facility, or raise :class:`LabFileError` (bad rows) / :class:`Problem` and store
    nothing. The caller commits and then publishes ``events``."""
    facility = await writable_facility(session, actor, facility_id)
    sources = list((await session.execute(select(EmissionSource).where(
        EmissionSource.facility_id == facility.id))).scalars())
    by_id = {str(s.id): s.id for s in sources}
    by_name = {s.name.strip().lower(): s.id for s in sources}
    stored = {(sample, gas) for sample, gas in (await session.execute(select(LabResult.sample_id, LabResult.gas).where(
        LabResult.organization_id == facility.organization_id, LabResult.sample_id.in_({r.sample_id for r in rows}))))}
    errors: list[tuple[int, str]] = []
    resolved: list[tuple[LabRow, int | None]] = []
    for row in rows:
        problems = []
        source_id: int | None = None
        if row.source is not None:
            source_id = by_id.get(row.source) or by_name.get(row.source.lower())
            if source_id is None:
                problems.append(f"source: {row.source!r} is not a source of facility {facility.id} (give its id "
                                "or name)")
        if (row.sample_id, row.gas) in stored:
            problems.append(f"sample_id: {row.sample_id!r} with gas {row.gas} is already stored")
        if problems:
            errors.append((row.row, "; ".join(problems)))
        resolved.append((row, source_id))
    if errors:
        raise LabFileError(errors)
    results = [LabResult(organization_id=facility.organization_id, facility_id=facility.id, source_id=source_id,
                         sample_id=row.sample_id, sampled_at=row.sampled_at, gas=row.gas,
                         concentration=row.concentration, unit=row.unit, method=row.method,
                         laboratory=row.laboratory, certificate=row.certificate, flags=list(row.flags), checks=[],
                         file_name=file_name[:300], file_row=row.row, created_by=actor.username)
               for row, source_id in resolved]
    session.add_all(results)
    await session.flush()
    outcome = ImportOutcome(results)
    for result in results:
        outcome.events += await check_result(session, result, settings, actor.username)
    await session.flush()
    await audit.record(session, actor=actor.username, action="import", entity="lab_results",
                       entity_id=results[0].id, organization_id=facility.organization_id,
                       after={"facility_id": facility.id, "file_name": file_name, "rows": len(results),
                              "ids": [r.id for r in results], "alerts": outcome.as_dict()["alerts"]})
    return outcome
