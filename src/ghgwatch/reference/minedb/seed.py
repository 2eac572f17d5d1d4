"""Public seed of the mine reference database from the shipped GEM files (real values only).

Credit (CC BY 4.0): "Global Energy Monitor, Global Coal Mine Tracker / Coal Mine Boundaries and Methane
Sources (CC BY 4.0)", and the Global Methane Emitters Tracker (2024-07) for the methane estimates.

- one mine per GEM id (``gcmt_map_2024-05-22_russia.csv``; the operating row when GEM lists phases);
- one mine-year per mine with a production figure: GEM's production snapshot of the 2024-05-22 release.
  The file does not state the reference year of that figure; it is stored under the release year 2024
  and every such cell says so in its source;
- the GMET estimate (``mtyr-gcmt_emissions``, Mt CH4/yr) of the 8 listed mines, matched to GCMT by the
  GEM wiki URL, as an *estimated* total absolute methane (m3/min) and, where GCMT gives production, an
  estimated relative methane content (m3/t), converted at 0.67 kg/m3 (IPCC 2006 Vol.2 Ch.4, Eq. 4.1.7
  text, METHODOLOGY §0 [V: S2]).
"""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

from ghgwatch.reference import gem

GMET_FILE = "gmet_2024-07_russia_coal_mines.csv"
SNAPSHOT_YEAR = 2024
"""Release year of the GCMT map file; the stored year of its production snapshot (see module docstring)."""
CH4_DENSITY_KG_M3 = 0.67  # IPCC 2006 Vol.2 Ch.4, Eq. 4.1.7 text: 0.67e-6 Gg/m3 at 20 °C, 1 atm [V: S2]
MINUTES_PER_YEAR = 525_600  # 365 × 24 × 60, METHODOLOGY §0
GCMT_SOURCE = f"GEM Global Coal Mine Tracker, map file 2024-05-22. {gem.CREDIT}"
PRODUCTION_SOURCE = (f"GEM Global Coal Mine Tracker 2024-05-22, column 'production' (Mt) × 10^6; reference year "
                     f"not stated in the file, stored under the release year {SNAPSHOT_YEAR}. {gem.CREDIT}")
GMET_SOURCE = ("GEM Global Methane Emitters Tracker 2024-07, column 'mtyr-gcmt_emissions' (Mt CH4/yr), "
               "converted at 0.67 kg/m3 (IPCC 2006 Vol.2 Ch.4 Eq. 4.1.7 text). Global Energy Monitor (CC BY 4.0)")


def mine_key(gem_id: str) -> str:
    return f"gem:{gem_id}"


def _int(value: Any) -> int | None:
    try:
        return int(float(value)) if str(value).strip() else None
    except ValueError:
        return None


def _gmet() -> dict[str, float]:
    """GMET Mt CH4/yr by GEM wiki URL."""
    text = resources.files("ghgwatch.reference").joinpath(f"data/gem-russia/{GMET_FILE}").read_text(encoding="utf-8")
    out: dict[str, float] = {}
    for r in csv.DictReader(text.splitlines()):
        value = gem._float(r["mtyr-gcmt_emissions"])
        if value is not None and r["url"]:
            out[r["url"].strip()] = value
    return out


def seed_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(mine rows, mine-year rows) as column dicts, without ids and timestamps."""
    raw = {r["id"]: r for r in gem._rows(gem.MINES_FILE) if r["status"] == "operating"}
    raw_any = {r["id"]: r for r in gem._rows(gem.MINES_FILE)}
    gmet = _gmet()
    mines: list[dict[str, Any]] = []
    years: list[dict[str, Any]] = []
    common = {"version": 1, "is_current": True, "deleted": False, "organization_id": None, "published": True,
              "created_by": "gem-seed", "comment": None}
    for m in gem.load_mines():
        r = raw.get(m.id) or raw_any[m.id]
        cells: dict[str, Any] = {}
        if m.depth_m == 448.0:  # GEM README: 448.0 m is a repeated default for most underground mines
            cells["depth_m"] = {"status": "estimated", "source": "GEM default depth 448.0 m, not a measurement"}
        mines.append({**common, "record_key": mine_key(m.id), "source": GCMT_SOURCE, "data_status": "reported",
                      "cell_status": cells, "gem_id": m.id, "name_en": m.name, "name_ru": None, "district": None,
                      "coalfield": r["coalfield"] or None, "in_kuzbass": m.in_kuzbass, "owner": m.owner or None,
                      "parent": m.parent or None, "mine_status": m.status or None,
                      "mining_method": m.mine_type or None, "depth_m": m.depth_m, "latitude": m.latitude,
                      "longitude": m.longitude, "opening_year": _int(r["opening_year"]),
                      "closing_year": _int(r["closing_year"]), "capacity_mt": m.capacity_mt, "url": m.url or None})
        production_t = m.production_mt * 1e6 if m.production_mt is not None else None
        ch4_mt = gmet.get(m.url.strip()) if m.url else None
        if production_t is None and ch4_mt is None:
            continue
        row: dict[str, Any] = {**common, "record_key": f"{mine_key(m.id)}:{SNAPSHOT_YEAR}",
                               "mine_key": mine_key(m.id), "year": SNAPSHOT_YEAR, "production_t": production_t,
                               "methane_vent_m3_min": None, "methane_drain_m3_min": None,
                               "methane_total_m3_min": None, "relative_m3_t": None, "drained_m3": None,
                               "utilised_m3": None, "source": PRODUCTION_SOURCE, "data_status": "reported",
                               "cell_status": {}}
        if ch4_mt is not None:
            volume_m3 = ch4_mt * 1e9 / CH4_DENSITY_KG_M3
            row["methane_total_m3_min"] = volume_m3 / MINUTES_PER_YEAR
            row["cell_status"]["methane_total_m3_min"] = {"status": "estimated", "source": GMET_SOURCE}
            if production_t:
                row["relative_m3_t"] = volume_m3 / production_t
                row["cell_status"]["relative_m3_t"] = {
                    "status": "estimated", "source": f"{GMET_SOURCE}; divided by the GCMT production"}
            if production_t is None:
                row["source"] = GMET_SOURCE
                row["data_status"] = "estimated"
        years.append(row)
    return mines, years


async def ensure_seeded(session: Any) -> int:
    """Insert the public GEM seed unless it is there (the migration seeds it; this repairs an emptied
    database). Returns the number of mines inserted."""
    from sqlalchemy import func, select

    from ghgwatch.reference.minedb.models import RefMine, RefMineYear

    present = (await session.execute(select(func.count()).select_from(RefMine).where(
        RefMine.created_by == "gem-seed"))).scalar_one()
    if present:
        return 0
    mines, years = seed_rows()
    session.add_all([RefMine(**r) for r in mines])
    session.add_all([RefMineYear(**r) for r in years])
    await session.flush()
    return len(mines)
