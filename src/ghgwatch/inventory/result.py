"""Calculation results and their JSON form (the ``ghgwatch calc`` output contract)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ghgwatch.inventory.fz296 import FZ296_GWP, Fz296Status
from ghgwatch.inventory.gwp import GwpSet
from ghgwatch.inventory.methodology import Methodology, UsedFactor


@dataclass(slots=True)
class ActivityResult:
    id: str
    type: str
    category: str
    co2_t: float
    ch4_t: float
    n2o_t: float
    co2e_t: float
    factors: list[UsedFactor]
    facility: str | None = None
    scope: int = 1
    """GHG Protocol scope: 1 direct, 2 indirect from purchased energy."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "facility": self.facility,
            "scope": self.scope,
            "type": self.type,
            "category": self.category,
            "co2_t": self.co2_t,
            "ch4_t": self.ch4_t,
            "n2o_t": self.n2o_t,
            "co2e_t": self.co2e_t,
            "factors": [f.as_dict() for f in self.factors],
        }


@dataclass(slots=True)
class CalcResult:
    year: int
    organization: str
    methodology: Methodology
    factor_sets: list[tuple[str, str]]
    gwp: GwpSet
    activities: list[ActivityResult]
    fz296: Fz296Status
    inputs_sha256: str

    def totals(self, scope: int = 1) -> dict[str, float]:
        """Totals of one scope: 1 (direct, the inventory and 296-FZ total) or 2 (purchased energy)."""
        acts = [a for a in self.activities if a.scope == scope]
        return {
            "co2_t": sum(a.co2_t for a in acts),
            "ch4_t": sum(a.ch4_t for a in acts),
            "n2o_t": sum(a.n2o_t for a in acts),
            "co2e_t": sum(a.co2e_t for a in acts),
        }

    def to_dict(self) -> dict[str, Any]:
        m = self.methodology
        fz = self.fz296
        return {
            "totals": self.totals(),
            "scope2_totals": self.totals(2),
            "activities": [a.as_dict() for a in self.activities],
            "gwp": {
                "name": self.gwp.name,
                "version": self.gwp.version,
                "values": dict(self.gwp.values),
                "ch4_applied": self.gwp.ch4_fossil,
                "source": self.gwp.source,
            },
            "methodology": {
                "name": m.name,
                "version": m.version,
                "title": m.title,
                "default_gas_reference": m.default_gas_reference,
                "factor_sets": [{"name": n, "version": v} for n, v in self.factor_sets],
            },
            "regulated_296fz": fz.regulated,
            "threshold_t_co2e": fz.threshold_t_co2e,
            "thresholds": fz.thresholds,
            "fz296": {
                "gwp": FZ296_GWP,
                "total_co2e_t": fz.total_t_co2e,
                "report_gwp": self.gwp.name,
                "report_total_co2e_t": self.totals()["co2e_t"],
                "article": fz.article,
                "report_deadline": fz.report_deadline.isoformat() if fz.report_deadline else None,
                "note": fz.note,
            },
            "year": self.year,
            "organization": self.organization,
            "inputs_sha256": self.inputs_sha256,
        }
