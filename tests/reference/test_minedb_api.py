"""The mine reference database over the API, on SQLite and PostgreSQL: GEM seed, versioned corrections,
visibility across organisations, import/export, Tier 1/2/3 side by side, restoration."""

from __future__ import annotations

import csv
import io

from ghgwatch.reference import gem
from ghgwatch.reference.minedb import seed
from ghgwatch.security.models import Role
from tests.conftest import World

BASE = "/api/v1/reference"


async def _seeded(world: World) -> None:
    async with world.db.transaction() as s:  # PostgreSQL tests truncate every table after a test
        await seed.ensure_seeded(s)


async def test_gem_seed_every_russian_mine_with_credit(world: World) -> None:
    await _seeded(world)
    headers = await world.login(Role.AUDITOR, world.org_a)
    body = (await world.client.get(f"{BASE}/mines", headers=headers, params={"limit": 1000})).json()
    assert "Global Energy Monitor" in body["credit"]
    assert body["total"] == len(gem.load_mines())
    kuzbass = (await world.client.get(f"{BASE}/mines", headers=headers,
                                      params={"kuzbass_only": True, "limit": 1000})).json()
    # GEM README: 143 tracker rows in the Kuzbass box are 123 mines (expansions share the mine's id).
    assert kuzbass["total"] == 123
    rasp = (await world.client.get(f"{BASE}/mines/gem:M0836", headers=headers)).json()
    assert rasp["gem_id"] == "M0836" and rasp["organization_id"] is None and "Global Energy Monitor" in rasp["source"]
    # GMET (Mt CH4/yr) → m3/min at 0.67 kg/m3: Polyany 0.005 Mt → 0.005e9 / 0.67 / 525600 = 14.198 m3/min
    polyany = (await world.client.get(f"{BASE}/mines", headers=headers, params={"q": "polyany"})).json()["items"][0]
    year = (await world.client.get(f"{BASE}/mine-years", headers=headers,
                                   params={"mine_key": polyany["record_key"]})).json()["items"][0]
    assert abs(year["methane_total_m3_min"] - 0.005e9 / 0.67 / 525_600) < 1e-6
    assert year["cell_status"]["methane_total_m3_min"]["status"] == "estimated"
    page = (await world.client.get(f"{BASE}/mines", headers=headers, params={"limit": 10, "offset": 10})).json()
    assert len(page["items"]) == 10 and page["offset"] == 10


async def test_private_rows_invisible_to_another_org_and_corrections_are_versions(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    b = await world.login(Role.ENGINEER, world.org_b)
    body = {"mine_key": "gem:M0836", "year": 2020, "production_t": 2_000_000, "relative_m3_t": 15.0,
            "source": "mine survey 2020", "data_status": "measured"}
    made = await world.client.post(f"{BASE}/mine-years", headers=a, json=body)
    assert made.status_code == 201, made.text
    key = made.json()["record_key"]
    assert made.json()["organization_id"] == world.org_a
    assert (await world.client.get(f"{BASE}/mine-years/{key}", headers=b)).status_code == 404
    listed = (await world.client.get(f"{BASE}/mine-years", headers=b, params={"year": 2020})).json()
    assert key not in {r["record_key"] for r in listed["items"]}
    assert (await world.client.patch(f"{BASE}/mine-years/{key}", headers=b,
                                     json={"relative_m3_t": 1.0})).status_code == 404
    # org B cannot write public rows; a second row for the same owner, mine and year is a conflict
    assert (await world.client.patch(f"{BASE}/mines/gem:M0836", headers=b,
                                     json={"name_ru": "Распадская"})).status_code == 403
    assert (await world.client.post(f"{BASE}/mine-years", headers=a, json=body)).status_code == 409
    fixed = await world.client.patch(f"{BASE}/mine-years/{key}", headers=a,
                                     json={"relative_m3_t": 16.5, "published": True})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["version"] == 2
    history = (await world.client.get(f"{BASE}/mine-years/{key}/history", headers=a)).json()
    assert [(h["version"], h["relative_m3_t"], h["is_current"]) for h in history] == [
        (1, 15.0, False), (2, 16.5, True)]
    assert (await world.client.get(f"{BASE}/mine-years/{key}", headers=b)).json()["relative_m3_t"] == 16.5
    assert (await world.client.delete(f"{BASE}/mine-years/{key}", headers=a)).status_code == 204
    assert (await world.client.get(f"{BASE}/mine-years/{key}", headers=a)).status_code == 404
    bad = await world.client.post(f"{BASE}/mine-years", headers=a, json={**body, "relative_m3_t": -1})
    assert bad.status_code == 422 and "relative_m3_t" in bad.json()["detail"]
    missing = await world.client.post(f"{BASE}/seams", headers=a, json={
        "mine_key": "gem:NOPE", "seam_index": "K-1", "source": "x"})
    assert missing.status_code == 422 and "mine_key" in missing.json()["detail"]


async def test_import_reports_rows_and_export_round_trips(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    text = ("mine_key,seam_index,depth_from_m,depth_to_m,gas_content_m3_t_daf,ash_pct,source\n"
            "gem:M0836,7-7a,350,420,14.5,12.0,borehole report 2019\n"
            "gem:M0836,6,300,,abc,,borehole report 2019\n"
            "gem:M0836,3-3a,500,560,18.2,,borehole report 2019\n")
    files = {"file": ("seams.csv", text.encode(), "text/csv")}
    atomic = (await world.client.post(f"{BASE}/seams/import", headers=a, files=files,
                                      params={"mode": "atomic"})).json()
    assert atomic["written"] is False and [e["row"] for e in atomic["errors"]] == [3]
    assert (await world.client.get(f"{BASE}/seams", headers=a)).json()["total"] == 0
    partial = (await world.client.post(f"{BASE}/seams/import", headers=a, files=files)).json()
    assert (partial["created"], [e["row"] for e in partial["errors"]]) == (2, [3])
    assert "gas_content_m3_t_daf" in str(partial["errors"][0]["errors"])
    exported = (await world.client.get(f"{BASE}/seams/export", headers=a)).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(r["seam_index"] for r in rows) == ["3-3a", "7-7a"]
    b = await world.login(Role.ENGINEER, world.org_b)
    assert (await world.client.get(f"{BASE}/seams", headers=b)).json()["total"] == 0
    xlsx = await world.client.get(f"{BASE}/seams/export", headers=a, params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_tiers_side_by_side_hand_computed(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    mine = (await world.client.post(f"{BASE}/mines", headers=a, json={
        "name_en": "Test mine", "mining_method": "underground", "depth_m": 300, "source": "test"})).json()
    key = mine["record_key"]
    # Tier 1 only: 2.0e6 t × 18 m3/t (200-400 m) × 0.67 kg/m3 / 1000 = 24,120 t (METHODOLOGY §6.1)
    t1 = (await world.client.get(f"{BASE}/mines/{key}/tiers", headers=a,
                                 params={"year": 2022, "production_t": 2e6})).json()
    assert t1["chosen"] == "tier1"
    assert abs(t1["tiers"]["tier1"]["ch4_t"] - 24_120.0) < 1e-6
    assert t1["tiers"]["tier3"]["available"] is False
    # Tier 2: 15.0 m3/t × 2.0e6 t × 0.67 / 1000 = 20,100 t, production taken from the reference row
    await world.client.post(f"{BASE}/mine-years", headers=a, json={
        "mine_key": key, "year": 2022, "production_t": 2e6, "relative_m3_t": 15.0, "source": "gas survey 2022",
        "data_status": "measured"})
    t2 = (await world.client.get(f"{BASE}/mines/{key}/tiers", headers=a, params={"year": 2022})).json()
    assert t2["chosen"] == "tier2"
    assert abs(t2["tiers"]["tier2"]["ch4_t"] - 20_100.0) < 1e-6
    assert t2["tiers"]["tier2"]["source"] == "gas survey 2022"
    assert "gas survey 2022" in t2["explanation"]
    # Raspadskaya: GEM depth 600 m (not the 448 m default), Tier 1 high class 25 m3/t
    rasp = (await world.client.get(f"{BASE}/mines/gem:M0836/tiers", headers=a,
                                   params={"year": 2024, "production_t": 1e6})).json()
    assert rasp["tiers"]["tier1"]["ef_m3_t"] == 25.0  # GEM depth 600 m: the high class (> 400 m)
    b = await world.login(Role.ENGINEER, world.org_b)
    assert (await world.client.get(f"{BASE}/mines/{key}/tiers", headers=b,
                                   params={"year": 2022})).status_code == 404


async def test_restore_through_api_marks_cells(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    keys = []
    for n in range(3):
        mine = (await world.client.post(f"{BASE}/mines", headers=a, json={
            "name_en": f"Panel mine {n}", "source": "test"})).json()
        keys.append(mine["record_key"])
        for year in (2000, 2001, 2003):
            if n == 0 and year == 2001:
                continue
            await world.client.post(f"{BASE}/mine-years", headers=a, json={
                "mine_key": mine["record_key"], "year": year, "relative_m3_t": 10.0 + n + (year - 2000),
                "source": "test"})
    answer = await world.client.post(f"{BASE}/mine-years/restore", headers=a, params={
        "variable": "relative_m3_t", "method": "interpolation", "year_from": 2000, "year_to": 2003,
        "apply": True})
    assert answer.status_code == 200, answer.text
    cells = {(c["mine_key"], c["year"]): c["value"] for c in answer.json()["cells"] if c["mine_key"] in keys}
    assert abs(cells[(keys[0], 2001)] - 11.0) < 1e-9  # a third of the way from 10 (2000) to 13 (2003)
    row = (await world.client.get(f"{BASE}/mine-years", headers=a, params={
        "mine_key": keys[0], "year": 2001})).json()["items"][0]
    assert row["data_status"] == "restored"
    assert row["cell_status"]["relative_m3_t"]["method"] == "interpolation"
    bad = await world.client.post(f"{BASE}/mine-years/restore", headers=a, params={"method": "magic"})
    assert bad.status_code == 422 and "magic" in bad.json()["detail"]
    ev = await world.client.post(f"{BASE}/mine-years/evaluate", headers=a, params={"synthetic": True,
                                                                                    "repeats": 1})
    assert {r["method"] for r in ev.json()["results"]} == {"mean", "interpolation", "regression", "knn"}


async def test_bad_input_is_a_clear_4xx(world: World) -> None:
    await _seeded(world)
    admin = await world.login(Role.ADMIN, None)
    a = await world.login(Role.ENGINEER, world.org_a)
    auditor = await world.login(Role.AUDITOR, world.org_a)
    ghost = await world.client.post(f"{BASE}/mines", headers=admin, json={
        "name_en": "Ghost", "source": "test", "organization_id": 999_999})
    assert ghost.status_code == 422 and "organization_id 999999" in ghost.json()["detail"]
    other = await world.client.post(f"{BASE}/mines", headers=a, json={
        "name_en": "Not mine", "source": "test", "organization_id": world.org_b})
    assert other.status_code == 403
    unknown = await world.client.patch(f"{BASE}/mines/gem:M0836", headers=admin, json={"version": 7})
    assert unknown.status_code == 422 and "version" in unknown.json()["detail"]
    backwards = await world.client.post(f"{BASE}/mine-years/restore", headers=a,
                                        params={"year_from": 2020, "year_to": 2010})
    assert backwards.status_code == 422 and "year_from 2020" in backwards.json()["detail"]
    empty = await world.client.post(f"{BASE}/mine-years/restore", headers=a,
                                    params={"year_from": 1950, "year_to": 1951})
    assert empty.status_code == 422 and "no known value" in empty.json()["detail"]
    # the GEM panel is one snapshot year per mine: the evaluation says what is missing
    thin = await world.client.post(f"{BASE}/mine-years/evaluate", headers=a, params={"variable": "production_t"})
    assert thin.status_code == 422 and "at least 3 known years" in thin.json()["detail"]
    assert (await world.client.post(f"{BASE}/mine-years/restore", headers=auditor,
                                    params={"apply": True})).status_code == 403
    wrong = await world.client.post(f"{BASE}/mine-years/evaluate", headers=a, params={"variable": "colour"})
    assert wrong.status_code == 422 and "colour" in wrong.json()["detail"]


async def test_exported_file_edited_and_imported_again(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    made = await world.client.post(f"{BASE}/mine-years", headers=a, json={
        "mine_key": "gem:M0836", "year": 2020, "production_t": 2_000_000, "relative_m3_t": 15.0,
        "source": "mine survey 2020", "data_status": "measured"})
    own_key = made.json()["record_key"]
    exported = (await world.client.get(f"{BASE}/mine-years/export", headers=a)).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    public = [r for r in rows if r["organization_id"] == ""]
    assert len(public) == len(seed.seed_rows()[1]) and len(rows) == len(public) + 1
    for r in rows:
        if r["record_key"] == own_key:
            r["relative_m3_t"] = "16.5"
        elif r["record_key"] == "gem:M0836:2024":
            r["production_t"] = "1"  # org A may not correct a public row
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    answer = (await world.client.post(f"{BASE}/mine-years/import", headers=a, files={
        "file": ("mine-years.csv", buffer.getvalue().encode(), "text/csv")})).json()
    assert (answer["updated"], answer["unchanged"], answer["created"]) == (1, len(public) - 1, 0), answer["errors"]
    public_row = 2 + next(i for i, r in enumerate(rows) if r["record_key"] == "gem:M0836:2024")
    assert [e["row"] for e in answer["errors"]] == [public_row]
    assert "platform administrator" in str(answer["errors"][0]["errors"])
    history = (await world.client.get(f"{BASE}/mine-years/{own_key}/history", headers=a)).json()
    assert [h["relative_m3_t"] for h in history] == [15.0, 16.5]


async def test_restore_and_evaluate_an_uploaded_panel(world: World) -> None:
    auditor = await world.login(Role.AUDITOR, world.org_a)  # nothing is stored: every role may use it
    text = ("mine_key,year,relative_m3_t\n"
            "a,2000,10\na,2003,13\nb,2000,20\nb,2001,21\nb,2002,22\nb,2003,23\n")
    files = {"file": ("panel.csv", text.encode(), "text/csv")}
    answer = await world.client.post(f"{BASE}/panel/restore", headers=auditor, files=files,
                                     params={"method": "interpolation"})
    assert answer.status_code == 200, answer.text
    rows = {(r["mine_key"], int(r["year"])): r for r in csv.DictReader(io.StringIO(answer.text))}
    assert (float(rows[("a", 2001)]["relative_m3_t"]), rows[("a", 2001)]["relative_m3_t_method"]) == (
        11.0, "interpolation")  # a third of the way from 10 (2000) to 13 (2003)
    assert rows[("b", 2001)]["relative_m3_t_method"] == "known"
    as_json = (await world.client.post(f"{BASE}/panel/restore", headers=auditor, files=files,
                                       params={"method": "mean", "format_out": "json"})).json()
    assert {(c["mine_key"], c["year"], c["value"], c["method"]) for c in as_json["cells"]} == {
        ("a", 2001, 11.5, "mean"), ("a", 2002, 11.5, "mean")}
    bad = await world.client.post(f"{BASE}/panel/restore", headers=auditor, files={
        "file": ("panel.csv", b"mine_key,year,relative_m3_t\na,2000,10\na,MMXI,11\n", "text/csv")})
    assert bad.status_code == 422 and "row 3" in bad.json()["detail"]
    thin = await world.client.post(f"{BASE}/panel/evaluate", headers=auditor, files=files)
    assert thin.status_code == 422 and "at least 30 such cells" in thin.json()["detail"]
    lines = ["mine_key,year,relative_m3_t"] + [f"m{i},{y},{10 + i + 0.5 * (y - 2000)}"
                                               for i in range(6) for y in range(2000, 2010)]
    ok = await world.client.post(f"{BASE}/panel/evaluate", headers=auditor, params={"repeats": 1}, files={
        "file": ("panel.csv", "\n".join(lines).encode(), "text/csv")})
    assert ok.status_code == 200, ok.text
    errors = {r["method"]: r["mean_error_pct"] for r in ok.json()["results"]}
    # straight lines: interpolation restores a hidden inner cell exactly, the mine's mean does not
    assert errors["interpolation"] < errors["mean"]
