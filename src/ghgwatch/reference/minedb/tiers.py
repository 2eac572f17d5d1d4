"""Methane of a mine-year by three tiers side by side, with the choice explained.

- Tier 1: IPCC 2006 Vol.2 Ch.4 default factor by depth class (underground: < 200 m / 200–400 m or unknown /
  > 400 m; surface: overburden unknown → average), METHODOLOGY §1.1 [V: S1, S2];
- Tier 2: the mine's relative methane content (m3/t) from the reference database × coal production,
  METHODOLOGY §1.2 ("the same equation as for Tier 1" with mine- or basin-specific data [V: S2]);
- Tier 3: ventilation + drainage methane integrated from the organisation's telemetry over the year
  (``inventory.telemetry``), METHODOLOGY §1.3.

All three: CH4 [t] = V [m3] × 0.67 kg/m3 / 1000 (IPCC 2006 Vol.2 Ch.4 Eq. 4.1.7 text, METHODOLOGY §0
[V: S2]); the mining emissions only (post-mining is the same Tier 1/2 factor for every tier and is left out).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import i18n
from ghgwatch.inventory import formulas
from ghgwatch.inventory.factors import Factor, load_builtin_factor_set
from ghgwatch.kit.problems import Problem
from ghgwatch.reference.minedb import service
from ghgwatch.reference.minedb.models import RefMineYear
from ghgwatch.registry.models import Facility
from ghgwatch.security.principal import Principal

STATUS_RANK = {"measured": 0, "reported": 1, "estimated": 2, "restored": 3}
GEM_DEFAULT_DEPTH_M = 448.0  # GEM README: a repeated default for most underground mines, not a measurement
DEFAULT_MIN_COVERAGE = 0.8
"""Tier 3 is used only when telemetry covers at least this share of the year (a platform policy)."""


def _factor(name: str) -> Factor:
    found = [f for f in load_builtin_factor_set("ipcc2006").factors if f.name == name]
    return found[0]


def _cell(row: RefMineYear, name: str) -> tuple[str, str]:
    """(status, source) of one value of a row: the cell's own, else the row's."""
    cell = (row.cell_status or {}).get(name) or {}
    return str(cell.get("status", row.data_status)), str(cell.get("source", row.source))


def _best(rows: list[RefMineYear], name: str, actor: Principal) -> RefMineYear | None:
    """The organisation's own row first, then published rows, then public ones; better status first."""
    have = [r for r in rows if getattr(r, name) is not None]

    def rank(r: RefMineYear) -> tuple[int, int]:
        owner = 0 if r.organization_id is not None and r.organization_id == actor.organization_id else (
            1 if r.organization_id is not None else 2)
        return owner, STATUS_RANK.get(_cell(r, name)[0], 9)

    return min(have, key=rank) if have else None


async def _linked_facility(session: AsyncSession, organization_id: int, mine_key: str,
                           gem_id: str | None) -> Facility | None:
    """The organisation's facility linked to the mine: by its attribute ``ref_mine_key``, else by GEM id (the link
    inventory runs use, ``inventory.stored``)."""
    facilities = list((await session.execute(select(Facility).where(
        Facility.organization_id == organization_id).order_by(Facility.id))).scalars())
    by_key = [f for f in facilities if (f.attributes or {}).get("ref_mine_key") == mine_key]
    by_gem = [f for f in facilities if gem_id and f.gem_mine_id == gem_id
              and not (f.attributes or {}).get("ref_mine_key")]
    found = by_key or by_gem
    return found[0] if found else None


async def _tier3(session: AsyncSession, actor: Principal, mine_key: str, gem_id: str | None, year: int,
                 facility_id: int | None, density: float, min_coverage: float,
                 t: i18n.Translator) -> dict[str, Any]:
    from ghgwatch.inventory.telemetry import measure_facility

    facility = None
    if facility_id is not None:
        facility = await session.get(Facility, facility_id)
        if facility is None:
            raise Problem(404, "Not found", "facility {id} does not exist", values={"id": facility_id})
        actor.require_org(facility.organization_id)
    elif actor.organization_id is not None:
        facility = await _linked_facility(session, actor.organization_id, mine_key, gem_id)
    if facility is None:
        return {"available": False, "reason": t.gettext("no facility of your organisation is linked to this mine")}
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    m = await measure_facility(session, facility, start, end, gap_policy="omit")
    out: dict[str, Any] = {"facility_id": facility.id, "coverage": m.coverage,
                           "ventilation_ch4_m3": m.total("ventilation"), "drainage_ch4_m3": m.total("drainage"),
                           "min_coverage": min_coverage}
    if not m.measured or m.coverage < min_coverage:
        return {**out, "available": False, "reason": t.gettext(
            "telemetry covers {coverage} of {year}, below the {minimum} required",
            coverage=i18n.format_percent(m.coverage, t.locale), year=year,
            minimum=i18n.format_percent(min_coverage, t.locale, 0))}
    volume = m.total("ventilation") + m.total("drainage")
    omitted = [float(s.integration["omitted_s"]) / float(s.integration["period_s"]) for s in m.sources
               if s.integration is not None and s.integration.get("period_s")]
    return {**out, "available": True, "ch4_m3": volume, "measured_ch4_t": formulas.volume_to_t(volume, density),
            "uncovered_share": max(omitted) if omitted else 1.0 - m.coverage,
            "source": t.gettext("telemetry of facility {facility} (ventilation shafts and drainage), {year}",
                                facility=facility.id, year=year)}


async def compare(session: AsyncSession, actor: Principal, mine_key: str, year: int, *,
                  production_t: float | None = None, facility_id: int | None = None,
                  min_coverage: float = DEFAULT_MIN_COVERAGE, locale: str = i18n.DEFAULT_LOCALE) -> dict[str, Any]:
    """Tier 1, 2 and 3 side by side with the chosen tier; texts (reasons, explanation) in ``locale``."""
    t = i18n.translator(locale, "reference")
    _ = t.gettext
    mine = await service.get(session, actor, service.MINES, mine_key)
    rows = list((await session.execute(service.current(RefMineYear, actor).where(
        RefMineYear.mine_key == mine_key, RefMineYear.year == year))).scalars())
    density_f = _factor("density.ch4.20C")
    density = density_f.value
    prod_row = _best(rows, "production_t", actor)
    production_source = _("given in the request")
    if production_t is None and prod_row is not None:
        production_t = prod_row.production_t
        production_source = _cell(prod_row, "production_t")[1]
    out: dict[str, Any] = {"mine_key": mine_key, "gem_id": mine.gem_id, "mine": mine.name_en, "year": year,
                           "production_t": production_t, "production_source": production_source,
                           "density_kg_m3": density, "density_source": density_f.source.text()}
    # Tier 1
    surface = mine.mining_method == "surface"
    depth = mine.depth_m if mine.depth_m != GEM_DEFAULT_DEPTH_M else None
    cls = formulas.overburden_class(None) if surface else formulas.depth_class(depth)
    ef = _factor(f"{'surface' if surface else 'underground'}_mining.{cls}")
    tier1: dict[str, Any] = {"ef_m3_t": ef.value, "depth_class": cls, "depth_m": depth, "source": ef.source.text()}
    if mine.depth_m == GEM_DEFAULT_DEPTH_M:
        tier1["note"] = _("GEM depth 448 m is a default, not a measurement: depth treated as unknown")
    if surface:
        where = _("surface mine, overburden unknown")
    elif depth is not None:
        where = _("depth {depth} m", depth=i18n.format_number(depth, t.locale))
    else:
        where = _("depth unknown")
    # Tier 2
    rel_row = _best(rows, "relative_m3_t", actor)
    tier2: dict[str, Any] = {"available": rel_row is not None}
    if rel_row is None:
        tier2["reason"] = _("no relative methane content for {year} in the reference database", year=year)
    else:
        status, source = _cell(rel_row, "relative_m3_t")
        tier2 |= {"relative_m3_t": rel_row.relative_m3_t, "status": status, "source": source,
                  "record_key": rel_row.record_key, "version": rel_row.version}
    if production_t is not None:
        tier1["ch4_t"] = formulas.tier1_ch4_t(production_t, ef.value, density)
        if rel_row is not None and rel_row.relative_m3_t is not None:
            tier2["ch4_t"] = formulas.tier1_ch4_t(production_t, rel_row.relative_m3_t, density)
    else:
        tier1["reason"] = tier2["reason"] = _("coal production unknown: pass production_t")
        tier2["available"] = False
    tier3 = await _tier3(session, actor, mine_key, mine.gem_id, year, facility_id, density, min_coverage, t)
    if tier3.get("available"):
        # The part of the year without telemetry is never stretched from the measured part: it takes the next
        # tier's figure pro rata (gap policy "another tier for the uncovered part"), shown separately.
        share = float(tier3["uncovered_share"])
        fill_tier = "tier2" if tier2.get("ch4_t") is not None else "tier1" if tier1.get("ch4_t") is not None else None
        if share <= 0:
            tier3["uncovered_ch4_t"], tier3["uncovered_from"] = 0.0, None
        elif fill_tier is not None:
            tier3["uncovered_ch4_t"] = share * float({"tier2": tier2, "tier1": tier1}[fill_tier]["ch4_t"])
            tier3["uncovered_from"] = fill_tier
        else:
            tier3["uncovered_ch4_t"], tier3["uncovered_from"] = None, None
            tier3["note"] = _("coal production unknown: the uncovered part of the year is not counted")
        tier3["ch4_t"] = tier3["measured_ch4_t"] + (tier3["uncovered_ch4_t"] or 0.0)
    out["tiers"] = {"tier1": tier1, "tier2": tier2, "tier3": tier3}

    def pct(value: float) -> str:
        return i18n.format_percent(value, t.locale)

    if tier3.get("available"):
        text = _("Tier 3: the mine's own telemetry covers {coverage} of the year; IPCC 2006 Vol.2 Ch.4 prefers "
                 "mine-specific measurements (METHODOLOGY §1.3).", coverage=pct(tier3["coverage"]))
        if tier3.get("uncovered_from"):
            text += " " + _("The {share} of the year without telemetry is taken from Tier {tier} pro rata.",
                            share=pct(tier3["uncovered_share"]), tier=tier3["uncovered_from"][-1])
        if tier3.get("note"):
            text += " " + tier3["note"]
        out["chosen"], out["explanation"] = "tier3", text
    elif tier2.get("ch4_t") is not None:
        status = t.pgettext("data status", tier2["status"])
        text = _("Tier 2: a mine-specific relative methane content ({value} m3/t, {status}, source: {source}) is "
                 "better than the Tier 1 default; no telemetry for Tier 3 ({reason}).",
                 value=i18n.format_number(round(tier2["relative_m3_t"], 3), t.locale), status=status,
                 source=tier2["source"], reason=tier3.get("reason"))
        if tier2["status"] not in ("measured", "reported"):
            text += " " + _("Caution: the value is {status}, not measured.", status=status)
        out["chosen"], out["explanation"] = "tier2", text
    elif tier1.get("ch4_t") is not None:
        out["chosen"], out["explanation"] = "tier1", _(
            "Tier 1: no telemetry ({reason3}) and no relative methane content ({reason2}); IPCC 2006 default "
            "{ef} m3/t for the {depth_class} class ({where}).", reason3=tier3.get("reason"),
            reason2=tier2.get("reason"), ef=i18n.format_number(ef.value, t.locale),
            depth_class=t.pgettext("depth class", cls), where=where)
    else:
        out["chosen"], out["explanation"] = None, _("no tier can be computed: coal production is unknown")
    return out
