"""Inventory runs: gather an organisation's activity data (and measured methane), calculate, keep the run.

A run stores the calc input document it built, the full result, the inputs' SHA-256, the methodology and
factor-set versions, the GWP set and the code version, so that it can be reproduced and audited.

Measured versus factor-based (Tier 3 versus Tier 1): when a facility has a ``coal_mine_measured``
activity (from telemetry with ``include_measured``, or entered as activity data), its
``coal_mining_underground`` rows are calculated separately and shown beside the measured figure in
``comparison``; only the measured figure enters the total, so the mine's methane is not counted twice.
Post-mining rows stay in the total (post-mining emissions are never measured, METHODOLOGY §1.3).
What is counted (period up to now, pro-rating, coverage and the measured policy): ghgwatch.inventory.coverage.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import __version__, audit
from ghgwatch.inventory import activity_data, factor_store, stored
from ghgwatch.inventory.coverage import DataQuality, counted_period, data_fraction, period_share
from ghgwatch.inventory.engine import calculate
from ghgwatch.inventory.errors import InventoryInputError
from ghgwatch.inventory.models import InventoryRun
from ghgwatch.inventory.result import CalcResult
from ghgwatch.inventory.schemas import RunIn
from ghgwatch.inventory.telemetry import FacilityMeasurement, measure_facility
from ghgwatch.kit.problems import Problem, not_found
from ghgwatch.registry.models import Facility, Organization
from ghgwatch.security.principal import WRITERS, Principal

TIER1_MINING = "coal_mining_underground"
MEASURED = "coal_mine_measured"


def input_problem(exc: InventoryInputError) -> Problem:
    return Problem(422, "Invalid inventory input", "{n} problem(s) in the inventory input",
                   type_="inventory-input", values={"n": len(exc.items)}, errors=[i.as_dict() for i in exc.items])


async def run_calculation(doc: dict[str, Any], stored_sets: dict[str, object] | None = None) -> CalcResult:
    """The engine in a worker thread (it is CPU work); input errors become a 422 problem."""
    try:
        return await asyncio.to_thread(calculate, doc, stored_sets=stored_sets)
    except InventoryInputError as exc:
        raise input_problem(exc) from None


def period_of(body: RunIn) -> tuple[datetime, datetime]:
    if body.period_start is not None and body.period_end is not None:
        start, end = body.period_start, body.period_end
        return (start if start.tzinfo else start.replace(tzinfo=UTC)), (end if end.tzinfo else end.replace(tzinfo=UTC))
    assert body.year is not None
    return datetime(body.year, 1, 1, tzinfo=UTC), datetime(body.year + 1, 1, 1, tzinfo=UTC)


def _last_day(end: datetime) -> date:
    return (end - timedelta(microseconds=1)).date()


async def _activities(session: AsyncSession, actor: Principal, org: int, start: datetime, end: datetime,
                      dq: DataQuality, meta: dict[str, stored.RowMeta]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rows, _ = await activity_data.list_rows(session, actor, organization_id=org, limit=None)
    names = {f.id: f.name for f in (await session.execute(select(Facility).where(
        Facility.organization_id == org))).scalars()}
    acts, facility_of = [], {}
    for r in rows:
        share = period_share(r.period_start, r.period_end, start, end)
        if share <= 0.0:
            continue
        ident = f"ad-{r.id}"
        a = {"id": ident, "type": r.activity_type, **r.data,
             "facility": r.data.get("facility") or names.get(r.facility_id)}
        a.pop("period_share", None)
        if share < 1.0:
            a["period_share"] = share
            dq.pro_rated.append({"id": ident, "period_start": r.period_start.isoformat(),
                                 "period_end": r.period_end.isoformat(), "share": share})
        acts.append(a)
        facility_of[ident] = r.facility_id
        meta[ident] = stored.RowMeta(r.facility_id, r.source_id, r.period_end)
    dq.activity_rows = len(acts)
    return acts, facility_of


async def _measured(session: AsyncSession, org: int, start: datetime, end: datetime,
                    body: RunIn, dq: DataQuality) -> list[FacilityMeasurement]:
    """Telemetry of every facility; coverage below ``min_coverage`` follows ``measured_policy``."""
    facilities = (await session.execute(select(Facility).where(Facility.organization_id == org)
                                        .order_by(Facility.id))).scalars()
    out = []
    for f in facilities:
        m = await measure_facility(session, f, start, end, body.gap_policy)
        if not m.measured:
            continue
        frac = data_fraction(m.as_dict())
        info: dict[str, Any] = {"facility_id": f.id, "facility": f.name, "coverage": m.coverage,
                                "data_fraction": frac, "treatment": "measured", "uncovered_share": 0.0}
        if frac < body.min_coverage:
            if body.measured_policy == "refuse":
                raise Problem(422, "Measured coverage too low",
                              "facility {name} (id {id}): telemetry covers {covered} of {start} to {end}, below the "
                              "minimum {minimum}; lower min_coverage, choose measured_policy 'complement', or run "
                              "without include_measured", type_="inventory-coverage",
                              values={"name": repr(f.name), "id": f.id, "covered": f"{frac:.2%}",
                                      "start": start.isoformat(), "end": end.isoformat(),
                                      "minimum": f"{body.min_coverage:.0%}"},
                              errors=[{"loc": ["min_coverage"], "msg": f"facility {f.id}: coverage {frac:.4f}"}])
            # Only what was measured; the factor-based activities cover the rest (see create_run).
            m = await measure_facility(session, f, start, end, "omit")
            info.update(treatment="complement", uncovered_share=1.0 - frac)
        dq.facilities.append(info)
        out.append(m)
    return out


def _complement(acts: list[dict[str, Any]], facility_of: dict[str, int], dq: DataQuality) -> set[int]:
    """Scale the Tier 1 mining rows of 'complement' facilities to their uncovered share; return those ids."""
    done: set[int] = set()
    for info in dq.facilities:
        if info["treatment"] != "complement":
            continue
        fid, share = info["facility_id"], float(info["uncovered_share"])
        mine = [a for a in acts if a["type"] == TIER1_MINING and facility_of[a["id"]] == fid]
        for a in mine:
            a["period_share"] = float(a.get("period_share", 1.0)) * share
            a["note"] = f"factor-based estimate for the {share:.2%} of the period without telemetry"
        info["complement_activities"] = [a["id"] for a in mine]
        if not mine:
            info["treatment"] = "measured_only"
        done.add(fid)
    return done


async def _compare(doc: dict[str, Any], tier1: list[dict[str, Any]], facility_of: dict[str, int],
                   result: CalcResult, stored_sets: dict[str, object]) -> list[dict[str, Any]]:
    if not tier1:
        return []
    side = await run_calculation({**doc, "activities": tier1}, stored_sets)
    tier2_ids = {a["id"] for a in tier1 if a.get("ef_source")}
    by_id = {a.id: a for a in result.activities}
    out = []
    for fid in sorted({facility_of[a["id"]] for a in tier1}):
        factor = [a for a in side.activities if facility_of[a.id] == fid]
        measured = [by_id[i] for i, f in facility_of.items() if f == fid and i in by_id and by_id[i].type == MEASURED]
        m_ch4, f_ch4 = sum(a.ch4_t for a in measured), sum(a.ch4_t for a in factor)
        out.append({
            "facility_id": fid,
            "measured_activities": [a.id for a in measured],
            "factor_activities": [a.id for a in factor],
            "measured_ch4_t": m_ch4,
            "measured_co2e_t": sum(a.co2e_t for a in measured),
            "factor_ch4_t": f_ch4,
            "factor_co2e_t": sum(a.co2e_t for a in factor),
            "difference_pct": (m_ch4 - f_ch4) / f_ch4 * 100.0 if f_ch4 else None,
            "in_total": "measured",
            "factor_tier": "tier2" if any(a.id in tier2_ids for a in factor) else "tier1",
            "factors": [f.as_dict() for a in factor for f in a.factors],
        })
    return out


def _without_stored(a: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if k not in fields}


async def _stored_side_by_side(doc: dict[str, Any], stored_sets: dict[str, object], result: CalcResult,
                               acts: list[dict[str, Any]], tier2: list[dict[str, Any]],
                               lab: list[dict[str, Any]], leaks: list[dict[str, Any]],
                               period_hours: float) -> dict[str, Any]:
    """Tier 2 vs Tier 1, lab vs Table 3.1 and measured leaks vs the facility figure (ghgwatch.inventory.stored):
    each changed row is calculated again without the stored value, as it stands in the run otherwise."""
    by_act = {a["id"]: a for a in acts}
    plain = [_without_stored(by_act[e["activity"]], ("ef_m3_per_t", "ef_source")) for e in tier2
             if e["tier"] == "tier2"]
    for e in lab:
        if e["applied"]:
            drop = tuple(f"{g}_{x}" for g in e["applied"] for x in ("percent", "source"))
            plain.append(_without_stored(by_act[e["activity"]], drop))
    without: dict[str, Any] = {}
    if plain:
        side = await run_calculation({**doc, "activities": plain}, stored_sets)
        without = {a.id: a for a in side.activities}
    by_id = {a.id: a for a in result.activities}
    for key, entries in (("tier1", tier2), ("default_composition", lab)):
        for e in entries:
            i = e["activity"]
            if i in without:
                e[f"{key}_ch4_t"], e[f"{key}_co2_t"] = without[i].ch4_t, without[i].co2_t
                e[f"{key}_factors"] = [f.as_dict() for f in without[i].factors]
            e["in_total"] = i in by_id
            if i in by_id:
                e["ch4_t"], e["co2_t"], e["co2e_t"] = by_id[i].ch4_t, by_id[i].co2_t, by_id[i].co2e_t
    stored.side_by_side_leaks(leaks, {a.id: a.ch4_t for a in result.activities}, period_hours)
    return {"tier2_vs_tier1": tier2, "lab_vs_table": lab, "measured_leaks": leaks}


@dataclass
class Assembled:
    """A run's calc input and what it was built from, before calculation (``assemble``)."""

    year: int
    req_start: datetime
    req_end: datetime
    start: datetime
    end: datetime
    dq: DataQuality
    doc: dict[str, Any]
    acts: list[dict[str, Any]]
    tier1: list[dict[str, Any]]
    facility_of: dict[str, int]
    measurements: list[FacilityMeasurement]
    tier2: list[dict[str, Any]]
    lab: list[dict[str, Any]]
    leaks: list[dict[str, Any]]
    stored_sets: dict[str, object]


async def assemble(session: AsyncSession, actor: Principal, org: Organization, body: RunIn, *,
                   plan: bool = False) -> Assembled:
    """Gather a run's activities. ``plan``: the whole requested period counts, future included, and nothing is
    measured (the emission forecast's production plans); otherwise the period is cut at now."""
    req_start, req_end = period_of(body)
    year = body.year or req_start.year
    start, end = (req_start, req_end) if plan else counted_period(req_start, req_end, datetime.now(UTC))
    dq = DataQuality(req_start, req_end, start, end, body.include_measured, body.gap_policy,
                     body.measured_policy, body.min_coverage)
    meta: dict[str, stored.RowMeta] = {}
    acts, facility_of = await _activities(session, actor, org.id, start, end, dq, meta)
    # Stored data replacing defaults (ghgwatch.inventory.stored), shown beside the defaults in ``comparison``.
    tier2 = await stored.apply_tier2(session, org.id, year, acts, meta) if body.coal_mining_tier == "tier2" else []
    lab = await stored.apply_lab(session, org.id, acts, meta) if body.lab_compositions else []
    measure = body.include_measured and end > start and not plan
    measurements = await _measured(session, org.id, start, end, body, dq) if measure else []
    for m in measurements:
        for a in m.activities():
            acts.append(a)
            facility_of[a["id"]] = m.facility_id
    complemented = _complement(acts, facility_of, dq)
    measured_facilities = {facility_of[a["id"]] for a in acts if a["type"] == MEASURED} - complemented
    tier1 = [a for a in acts if a["type"] == TIER1_MINING and facility_of[a["id"]] in measured_facilities]
    total_acts = [a for a in acts if a not in tier1]
    leaks: list[dict[str, Any]] = []
    if body.uav_leaks and end > start and not plan:
        names = {f.id: f.name for f in (await session.execute(select(Facility).where(
            Facility.organization_id == org.id))).scalars()}
        added, leaks = await stored.uav_leaks(session, org.id, start, end, total_acts, facility_of, names)
        total_acts += added
    doc: dict[str, Any] = {"methodology": body.methodology, "year": year, "organization": org.name,
                           "factor_sets": body.factor_sets, "activities": total_acts}
    if body.gwp is not None:
        doc["gwp"] = body.gwp
    stored_sets = await factor_store.resolve(session, actor, body.factor_sets)
    return Assembled(year, req_start, req_end, start, end, dq, doc, acts, tier1, facility_of, measurements, tier2,
                     lab, leaks, stored_sets)


async def create_run(session: AsyncSession, actor: Principal, body: RunIn) -> InventoryRun:
    return await store_run(session, actor, await compute_run(session, actor, body))


async def store_run(session: AsyncSession, actor: Principal, run: InventoryRun) -> InventoryRun:
    """Keep a run built by :func:`compute_run` (and audit it)."""
    session.add(run)
    await session.flush()
    await audit.record(session, actor=actor.username, action="create", entity="inventory_run", entity_id=run.id,
                       organization_id=run.organization_id,
                       after={"inputs_sha256": run.inputs_sha256, "year": run.year, "methodology": run.methodology,
                              "gwp": run.gwp, "total_co2e_t": run.total_co2e_t, "code_version": run.code_version})
    return run


async def compute_run(session: AsyncSession, actor: Principal, body: RunIn) -> InventoryRun:
    """Gather the inputs and calculate; the run is not added to the session (report sign-off compares a fresh
    run's inputs hash with a locked one without keeping it)."""
    actor.require_role(WRITERS)
    actor.require_org(body.organization_id)
    org = await session.get(Organization, body.organization_id)
    if org is None:
        raise not_found("organisation", body.organization_id)
    a = await assemble(session, actor, org, body)
    year, req_start, req_end, dq, doc = a.year, a.req_start, a.req_end, a.dq, a.doc
    result = await run_calculation(doc, a.stored_sets)
    comparison = {
        "period": {"start": a.start.isoformat(), "end": a.end.isoformat()},
        "requested_period": {"start": req_start.isoformat(), "end": req_end.isoformat()},
        "measured": [m.as_dict() for m in a.measurements],
        "tier3_vs_tier1": await _compare(doc, a.tier1, a.facility_of, result, a.stored_sets),
        **await _stored_side_by_side(doc, a.stored_sets, result, a.acts, a.tier2, a.lab, a.leaks,
                                     (a.end - a.start).total_seconds() / 3600.0),
    }
    out = result.to_dict()
    out["data_quality"] = dq.as_dict(len(result.activities))
    return InventoryRun(
        organization_id=org.id, year=year, period_start=req_start.date(), period_end=_last_day(req_end),
        methodology=result.methodology.name, methodology_version=result.methodology.version,
        gwp=result.gwp.name, factor_sets=out["methodology"]["factor_sets"], code_version=__version__,
        inputs_sha256=result.inputs_sha256, include_measured=body.include_measured,
        total_co2e_t=out["totals"]["co2e_t"], regulated_296fz=bool(out["regulated_296fz"]),
        inputs=doc, result=out, comparison=comparison, created_by=actor.username,
    )


async def get_run(session: AsyncSession, actor: Principal, key: int) -> InventoryRun:
    run = await session.get(InventoryRun, key)
    if run is None:
        raise not_found("inventory run", key)
    actor.require_org(run.organization_id)
    return run


async def list_runs(session: AsyncSession, actor: Principal, organization_id: int | None = None,
                    year: int | None = None, limit: int = 100, offset: int = 0) -> list[InventoryRun]:
    stmt = select(InventoryRun)
    scope = actor.org_filter()
    if scope is not None:
        stmt = stmt.where(InventoryRun.organization_id == scope)
    if organization_id is not None:
        stmt = stmt.where(InventoryRun.organization_id == organization_id)
    if year is not None:
        stmt = stmt.where(InventoryRun.year == year)
    stmt = stmt.order_by(InventoryRun.id.desc()).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())
