"""A source's measured gas composition from its lab samples, for calculations that would otherwise use a table
default (for example ``vented_gas.ch4_percent`` and ``co2_percent``), with the samples cited.

For each gas, the latest sample of the source taken at or before ``at`` and not older than ``max_age_days`` is used,
converted to % by volume (``mg/m3`` samples are left out: they need temperature and pressure). Samples flagged
``rejected`` by the laboratory are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.lab.models import LabResult
from ghgwatch.lab.parse import to_unit

EXCLUDED_FLAGS = frozenset({"rejected"})


@dataclass
class Composition:
    percent: dict[str, float] = field(default_factory=dict)
    """Gas → % by volume."""
    cited: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Gas → the sample used: id, sample_id, sampled_at, laboratory, certificate, method, the value as given."""

    def as_dict(self) -> dict[str, Any]:
        return {"percent": self.percent, "cited": self.cited}


async def measured_composition(session: AsyncSession, organization_id: int, source_id: int, at: datetime,
                               gases: tuple[str, ...] = ("ch4", "co2"), max_age_days: float = 365.0) -> Composition:
    at = ensure_utc(at)
    out = Composition()
    for gas in gases:
        rows = (await session.execute(select(LabResult).where(
            LabResult.organization_id == organization_id, LabResult.source_id == source_id, LabResult.gas == gas,
            LabResult.sampled_at <= at, LabResult.sampled_at >= at - timedelta(days=max_age_days),
        ).order_by(LabResult.sampled_at.desc(), LabResult.id.desc()))).scalars()
        for r in rows:
            value = to_unit(r.concentration, r.unit, "%")
            if value is None or EXCLUDED_FLAGS & set(r.flags):
                continue
            out.percent[gas] = value
            out.cited[gas] = {"lab_result_id": r.id, "sample_id": r.sample_id,
                              "sampled_at": ensure_utc(r.sampled_at).isoformat(), "laboratory": r.laboratory,
                              "certificate": r.certificate, "method": r.method, "concentration": r.concentration,
                              "unit": r.unit}
            break
    return out
