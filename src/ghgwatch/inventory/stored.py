"""What the platform stores, wired into an inventory run (issue 13 item 2, issue 15 §1 and §2).

- **Tier 2 from the mine reference database.** A facility is linked to a reference mine by the facility attribute
  ``ref_mine_key`` (the record key of a mine of ``ghgwatch.reference.minedb``), else by its ``gem_mine_id`` (the
  mine with that GEM id). With ``coal_mining_tier = "tier2"`` each ``coal_mining_underground`` /
  ``coal_mining_surface`` row of a linked facility without its own ``ef_m3_per_t`` takes the mine-year's relative
  methane content (m3/t) of the run's year: ``CH4 = m3/t × production × ρ`` (IPCC 2006 Vol.2 Ch.4 Tier 2, "the
  same equation as for Tier 1" with mine- or basin-specific data, METHODOLOGY §1.2 [V: S2]). The value cited is
  the organisation's own row first, then a published or public one, a better status first (measured, reported,
  estimated, restored), as ``GET /reference/mines/{key}/tiers`` picks it. Post-mining stays Tier 1 (the
  relative methane content is what mining liberates).
- **Lab compositions for formula 3.1.** A ``vented_gas`` row with a source and without its own ``ch4_percent`` /
  ``co2_percent`` takes the source's latest lab sample at or before the end of the row's period
  (``lab.composition``) instead of the Order 371 Table 3.1 default, cited as the sample.
- **Measured leaks from UAV flights** (``uav.leak``). The rule against double counting: a facility whose mine
  methane is already in the total as a facility-wide figure (Tier 1/2 ``coal_mining_*`` rows or Tier 3
  ``coal_mine_measured``) covers every way the mine's methane leaves it, leaks included (IPCC 2006 Vol.2 Ch.4
  §4.1.3: the factors and the ventilation + drainage measurements cover all methane liberated by mining,
  METHODOLOGY §1.1-§1.3), so a leak measured there is **not added**: it is shown beside that figure pro-rated to
  the leak's hours. Anywhere else (a processing plant, a boiler house, a mine without a figure in the period) the
  leak enters the total as a ``measured_leak`` activity with its provenance.

Each of the three is also shown side by side with what the run would have used without it (``comparison``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.lab.composition import measured_composition
from ghgwatch.reference.minedb.models import RefMine, RefMineYear
from ghgwatch.registry.models import Facility
from ghgwatch.uav.leak import measured_emissions

TIER2_TYPES = ("coal_mining_underground", "coal_mining_surface")
MINE_WIDE = frozenset({"coal_mining_underground", "coal_mining_surface", "coal_mine_measured"})
"""Activity types giving a facility-wide figure of the methane liberated by mining (leaks included)."""
STATUS_RANK = {"measured": 0, "reported": 1, "estimated": 2, "restored": 3}
REF_MINE_ATTRIBUTE = "ref_mine_key"


@dataclass(frozen=True)
class RowMeta:
    """What a run knows of an activity-data row besides its calc fields."""

    facility_id: int
    source_id: int | None
    period_end: date


def _visible(model: Any, organization_id: int) -> Any:
    """Reference rows an organisation's run may use: public, published, or its own (never another's private)."""
    return select(model).where(model.is_current.is_(True), model.deleted.is_(False), or_(
        model.organization_id.is_(None), model.published.is_(True), model.organization_id == organization_id))


async def linked_mine(session: AsyncSession, facility: Facility) -> tuple[RefMine | None, str]:
    """The reference mine of ``facility`` and how it is linked (or why there is none)."""
    key = (facility.attributes or {}).get(REF_MINE_ATTRIBUTE)
    if key:
        mine = (await session.execute(_visible(RefMine, facility.organization_id)
                                      .where(RefMine.record_key == str(key)))).scalar()
        return mine, (f"attribute {REF_MINE_ATTRIBUTE}={key}" if mine is not None
                      else f"attribute {REF_MINE_ATTRIBUTE}={key}: no such reference mine visible to the organisation")
    if facility.gem_mine_id:
        mines = list((await session.execute(_visible(RefMine, facility.organization_id)
                                            .where(RefMine.gem_id == facility.gem_mine_id))).scalars())
        if mines:
            own = [m for m in mines if m.organization_id == facility.organization_id]
            return min(own or mines, key=lambda m: m.id), f"gem_mine_id={facility.gem_mine_id}"
        return None, f"gem_mine_id={facility.gem_mine_id}: no reference mine with that GEM id"
    return None, f"the facility has no {REF_MINE_ATTRIBUTE} attribute and no gem_mine_id"


def _cell(row: RefMineYear, name: str) -> tuple[str, str]:
    cell = (row.cell_status or {}).get(name) or {}
    return str(cell.get("status", row.data_status)), str(cell.get("source", row.source))


async def mine_year_value(session: AsyncSession, organization_id: int, mine_key: str, year: int,
                          name: str = "relative_m3_t") -> RefMineYear | None:
    """The mine-year row whose ``name`` a run cites: the organisation's own, then published or public rows;
    within each, the better status."""
    rows = [r for r in (await session.execute(_visible(RefMineYear, organization_id).where(
        RefMineYear.mine_key == mine_key, RefMineYear.year == year))).scalars() if getattr(r, name) is not None]

    def rank(r: RefMineYear) -> tuple[int, int, int]:
        owner = 0 if r.organization_id == organization_id else 1 if r.organization_id is not None else 2
        return owner, STATUS_RANK.get(_cell(r, name)[0], 9), r.id

    return min(rows, key=rank) if rows else None


async def apply_tier2(session: AsyncSession, organization_id: int, year: int, acts: list[dict[str, Any]],
                      meta: dict[str, RowMeta]) -> list[dict[str, Any]]:
    """Set ``ef_m3_per_t`` and ``ef_source`` of the mining rows of linked facilities; one entry per row."""
    out: list[dict[str, Any]] = []
    links: dict[int, tuple[RefMine | None, str]] = {}
    for a in acts:
        if a["type"] not in TIER2_TYPES or a["id"] not in meta:
            continue
        fid = meta[a["id"]].facility_id
        entry: dict[str, Any] = {"activity": a["id"], "facility_id": fid, "year": year}
        if a.get("ef_m3_per_t") is not None:
            out.append(entry | {"tier": "given", "reason": "ef_m3_per_t given in the activity data"})
            continue
        if fid not in links:
            facility = await session.get(Facility, fid)
            links[fid] = await linked_mine(session, facility) if facility is not None else (None, "no facility")
        mine, how = links[fid]
        if mine is None:
            out.append(entry | {"tier": "tier1", "reason": f"no linked reference mine ({how})"})
            continue
        entry |= {"mine_key": mine.record_key, "mine": mine.name_en, "mine_ru": mine.name_ru, "gem_id": mine.gem_id,
                  "link": how}
        row = await mine_year_value(session, organization_id, mine.record_key, year)
        if row is None or row.relative_m3_t is None:
            out.append(entry | {"tier": "tier1", "reason": f"no relative methane content for {year} in the "
                                                           "reference database"})
            continue
        status, source = _cell(row, "relative_m3_t")
        cited = (f"mine reference database: {mine.name_en} ({mine.record_key}"
                 f"{', GEM ' + mine.gem_id if mine.gem_id else ''}), {year}, relative methane content "
                 f"{row.relative_m3_t:g} m3/t, status {status}; source: {source} (record {row.record_key} "
                 f"v{row.version})")
        a["ef_m3_per_t"], a["ef_source"] = row.relative_m3_t, cited[:1000]
        out.append(entry | {"tier": "tier2", "relative_m3_t": row.relative_m3_t, "status": status,
                            "source": source, "record_key": row.record_key, "version": row.version,
                            "caution": status not in ("measured", "reported")})
    return out


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) - timedelta(microseconds=1)


async def apply_lab(session: AsyncSession, organization_id: int, acts: list[dict[str, Any]],
                    meta: dict[str, RowMeta]) -> list[dict[str, Any]]:
    """Set the measured CH4 / CO2 % of ``vented_gas`` rows from their source's lab samples; one entry per row."""
    out: list[dict[str, Any]] = []
    for a in acts:
        info = meta.get(a["id"])
        if a["type"] != "vented_gas" or info is None:
            continue
        entry: dict[str, Any] = {"activity": a["id"], "facility_id": info.facility_id, "source_id": info.source_id,
                                 "gas_type": a.get("gas_type"), "applied": {}, "kept": {}}
        missing = tuple(g for g in ("ch4", "co2") if a.get(f"{g}_percent") is None)
        for g in ("ch4", "co2"):
            if g not in missing:
                entry["kept"][g] = "given in the activity data"
        if info.source_id is None or not missing:
            if info.source_id is None:
                entry["reason"] = "the activity row names no source"
            out.append(entry)
            continue
        comp = await measured_composition(session, organization_id, info.source_id, _end_of(info.period_end),
                                          gases=missing)
        for g in missing:
            if g not in comp.percent:
                entry["kept"][g] = ("Order 371 Table 3.1 default" if a.get("gas_type")
                                    else "not given: 0") + " (no usable lab sample within 365 days)"
                continue
            c = comp.cited[g]
            a[f"{g}_percent"] = comp.percent[g]
            a[f"{g}_source"] = (f"lab sample {c['sample_id']} of {c['sampled_at']} ({c['laboratory'] or 'laboratory'}"
                                f", certificate {c['certificate'] or '-'}, method {c['method'] or '-'}): "
                                f"{c['concentration']:g} {c['unit']} (lab result {c['lab_result_id']})")[:1000]
            entry["applied"][g] = {"percent": comp.percent[g], **c}
        out.append(entry)
    return out


async def uav_leaks(session: AsyncSession, organization_id: int, start: datetime, end: datetime,
                    total_acts: list[dict[str, Any]], facility_of: dict[str, int],
                    names: dict[int, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(activities to add to the total, one entry per measured emission) under the rule of the module doc."""
    covered: dict[int, list[str]] = {}
    for a in total_acts:
        if a["type"] in MINE_WIDE and a["id"] in facility_of:
            covered.setdefault(facility_of[a["id"]], []).append(a["id"])
    added: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for x in await measured_emissions(session, organization_id, start, end):
        p = x.provenance
        entry: dict[str, Any] = {"emission_id": x.emission_id, "facility_id": x.facility_id,
                                 "source_id": x.source_id, "hours": x.hours, "ch4_t": x.ch4_kg / 1000.0,
                                 "lower_t": x.lower_kg / 1000.0, "upper_t": x.upper_kg / 1000.0, "provenance": p}
        if x.facility_id in covered:
            entry |= {"in_total": False, "covered_by": covered[x.facility_id],
                      "rule": "the facility's mine methane is in the total as a facility-wide figure, which covers "
                              "its leaks: not added (shown beside that figure for the same hours)"}
        else:
            ident = f"uav-{x.emission_id}"
            added.append({"id": ident, "type": "measured_leak", "facility": names.get(x.facility_id),
                          "ch4_kg": x.ch4_kg, "lower_kg": x.lower_kg, "upper_kg": x.upper_kg, "hours": x.hours,
                          "provenance": (f"measured emission {x.emission_id}: UAV flight {p.get('flight_id')} "
                                         f"({p.get('method')}), source {x.source_id}, {x.hours:g} h in the "
                                         "period, 95 % interval carried")})
            facility_of[ident] = x.facility_id
            entry |= {"in_total": True, "activity": ident,
                      "rule": "no facility-wide figure covers this source: added as a measured leak"}
        entries.append(entry)
    return added, entries


def side_by_side_leaks(entries: list[dict[str, Any]], ch4_of: dict[str, float], period_hours: float) -> None:
    """Beside each leak not added: the facility-wide figure's CH4 for the same number of hours (pro rata)."""
    for e in entries:
        if e["in_total"] or period_hours <= 0:
            continue
        facility_t = sum(ch4_of.get(i, 0.0) for i in e["covered_by"])
        same = facility_t * e["hours"] / period_hours
        e |= {"facility_figure_ch4_t": facility_t, "facility_figure_same_hours_ch4_t": same,
              "measured_share_of_figure": e["ch4_t"] / same if same > 0 else None}
