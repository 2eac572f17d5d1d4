"""Regenerate the Order 371 part of ``src/ghgwatch/inventory/data/ru371.json`` from the CSV tables.

Usage: ``python scripts/data/order371_factors.py DIR``, DIR holding the CSV tables named in docs/sources.md.
The CSVs are the tables of Minprirody Order No. 371 (27.05.2022) as encoded by a third party (repository
snikitenkov2216b/my-project, ``data_models.py`` at the parent of commit 720db72); every value is status ``?``
(not checked against the official text). See docs/sources.md. The oxidation factors already in the file are kept.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "src/ghgwatch/inventory/data/ru371.json"
DOC = "Minprirody Order No. 371 of 27.05.2022"
REF = "as encoded by snikitenkov2216b/my-project data_models.py (parent of 720db72) [?], docs/sources.md"
VALID_FROM = "2022-05-27"
GAS_TYPES = {
    "Газ природный (сероводородсодержащие месторождения)": "natural_gas_sour",
    "Газ природный": "natural_gas",
    "Попутный нефтяной газ": "associated_gas",
    "Газ дегазации угольных пластов": "coal_seam_gas",
    "Газ газоконденсатных месторождений": "gas_condensate_field_gas",
}
SOLID = ("уголь", "Антрацит", "Кокс", "Сланцы", "Брикеты", "Торф", "Отходы бытовые", "Прочие горючие отходы")


def _state(name: str, volume: bool) -> str:
    if volume:
        return "gas"
    return "solid" if any(s in name for s in SOLID) else "liquid"


def _factor(name: str, value: float, unit: str, table: str, equation: str, tags: list[str]) -> dict[str, object]:
    return {"name": name, "value": value, "unit": unit, "status": "?", "tags": tags, "valid_from": VALID_FROM,
            "source": {"document": DOC, "table": table, "equation": equation, "ref": REF}}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def build(src: Path) -> dict[str, object]:
    data = json.loads(OUT.read_text("utf-8"))
    keep = [f for f in data["factors"] if f["name"].startswith("oxidation.")]
    factors: list[dict[str, object]] = list(keep)
    for n, row in enumerate(_rows(src / "table_1_2_densities.csv"), start=1):
        ref = {1: "0C", 2: "15C", 3: "20C"}[n]
        factors.extend(
            _factor(f"density.{gas.lower()}.{ref}", float(row[f"rho_{gas}"]), "kg/m3",
                    f"Table 1.2, row {n} ({row['conditions']}), {gas}", "", ["density", gas.lower(), ref])
            for gas in ("CO2", "CH4")
        )
    for n, row in enumerate(_rows(src / "table_2_1_flaring.csv"), start=1):
        gid = GAS_TYPES[row["type"]]
        for col, name, unit in (("EF_CO2_t", "ef_co2_per_t", "t CO2/t"), ("EF_CO2_m3", "ef_co2_per_1000m3",
                                "t CO2/thousand m3"), ("EF_CH4_t", "ef_ch4_per_t", "t CH4/t"),
                                ("EF_CH4_m3", "ef_ch4_per_1000m3", "t CH4/thousand m3")):
            factors.append(_factor(f"flaring371.{gid}.{name}", float(row[col]), unit,
                                   f"Table 2.1, row {n} ({row['type']}), {col}", "Category 2 (flaring)",
                                   ["flaring", gid]))
    for n, row in enumerate(_rows(src / "table_3_1_gas_composition.csv"), start=1):
        gid = GAS_TYPES[row["type"]]
        for col, gas in (("W_CH4", "ch4"), ("W_CO2", "co2")):
            factors.append(_factor(f"composition.{gid}.{gas}", float(row[col]), "% vol",
                                   f"Table 3.1, row {n} ({row['type']}), {col}", "Formula 3.1",
                                   ["venting", "composition", gid]))
    fuels = []
    for n, row in enumerate(_rows(src / "table_1_1_fuels.csv"), start=1):
        name, unit = row["fuel_ru"], row["unit_ru"]
        volume = unit == "тыс. м3"
        fuels.append({
            "name": name,
            "state": _state(name, volume),
            "basis": "volume" if volume else "mass",
            "ncv": float(row["ncv_tj_per_kt_or_mm3"]),
            "ncv_unit": "TJ/million_m3" if volume else "TJ/kt",
            "ef_co2": float(row["ef_co2_t_per_tj"]) * 1000.0,
            "ef_co2_tce": float(row["ef_co2_t_per_tce"]),
            "k_tce": float(row["k_tce_per_unit"]),
            "carbon_t_per_tj": float(row["carbon_t_per_tj"]),
            "ch4": {},
            "n2o": {},
            "status": {"ncv": "?", "ef_co2": "?", "k_tce": "?", "ef_co2_tce": "?"},
            "document": DOC,
            "table": f"Table 1.1, row {n} ({name}; unit {unit})",
            "ref": REF,
            "valid_from": VALID_FROM,
        })
    data["version"] = "2022.2"
    data["description"] = (
        "Minprirody Order No. 371 of 27.05.2022 overlay on top of ipcc2006: Table 1.1 fuels (both routes of "
        "formula 1.1: t c.e. x EF per t c.e., or NCV x EF per TJ), Table 1.2 densities, Table 2.1 flaring factors, "
        "Table 3.1 gas compositions, oxidation factors. All values as encoded by a third party and UNVERIFIED [?] "
        "against the published order (docs/sources.md). Formula 1.1 gives CO2 only: CH4 and N2O of ru371 fuels "
        "are not calculated."
    )
    data["factors"] = factors
    data["fuels"] = fuels
    return data


if __name__ == "__main__":
    out = build(Path(sys.argv[1]))
    text = json.dumps(out, ensure_ascii=False, indent=None)
    # One factor or fuel per line, as in the other shipped sets.
    lines = ["{", f'  "name": {json.dumps(out["name"])},', f'  "version": {json.dumps(out["version"])},',
             f'  "description": {json.dumps(out["description"], ensure_ascii=False)},', '  "factors": [']
    items = out["factors"]
    assert isinstance(items, list)
    lines += [f"    {json.dumps(f, ensure_ascii=False)}{',' if i < len(items) - 1 else ''}"
              for i, f in enumerate(items)]
    lines.append("  ],")
    lines.append('  "fuels": [')
    fl = out["fuels"]
    assert isinstance(fl, list)
    lines += [f"    {json.dumps(f, ensure_ascii=False)}{',' if i < len(fl) - 1 else ''}" for i, f in enumerate(fl)]
    lines += ["  ]", "}"]
    OUT.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {OUT}: {len(items)} factors, {len(fl)} fuels")
