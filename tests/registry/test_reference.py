"""Reference data served by the API: GEM mines (with credit) and the GWP sets."""

from __future__ import annotations

from ghgwatch.security.models import Role
from tests.conftest import World


async def test_gwp_sets_are_served_with_sources(world: World) -> None:
    headers = await world.login(Role.AUDITOR, world.org_a)
    body = (await world.client.get("/api/v1/reference/gwp", headers=headers)).json()
    sets = body["sets"]
    assert {"ar4", "ar5", "ar6", "ru2979r"} <= sets.keys()
    # METHODOLOGY.md §3: AR4 25/298, AR5 28/265, AR6 fossil CH4 29.8 and N2O 273; 2979-r uses the AR4 values.
    assert (sets["ar4"]["values"]["ch4"], sets["ar4"]["values"]["n2o"]) == (25, 298)
    assert (sets["ar5"]["values"]["ch4"], sets["ar5"]["values"]["n2o"]) == (28, 265)
    assert sets["ar6"]["values"]["n2o"] == 273
    assert 29.8 in sets["ar6"]["values"].values()
    assert (sets["ru2979r"]["values"]["ch4"], sets["ru2979r"]["values"]["n2o"]) == (25, 298)
    assert all(s["source"] for s in sets.values())
    assert (await world.client.get("/api/v1/reference/gwp")).status_code == 401


async def test_gem_mines_with_credit(world: World) -> None:
    from ghgwatch.reference.minedb import seed

    async with world.db.transaction() as s:  # PostgreSQL tests truncate the migration's seed
        await seed.ensure_seeded(s)
    headers = await world.login(Role.OPERATOR, world.org_a)
    body = (await world.client.get("/api/v1/reference/mines", headers=headers,
                                   params={"kuzbass_only": True, "limit": 1000})).json()
    assert "Global Energy Monitor" in body["credit"]
    ids = {m["gem_id"] for m in body["items"]}
    assert "M0836" in ids  # Raspadskaya, the demo mine
    # GEM README: 143 tracker rows fall in the Kuzbass box; they are 123 mines (expansions share the mine's id).
    assert len(body["items"]) == len(ids) == body["total"] == 123


async def test_whole_kuzbass_imports_once(world: World) -> None:
    from ghgwatch.reference import gem
    from ghgwatch.security.principal import SYSTEM

    async with world.db.transaction() as s:
        first = await gem.import_mines(s, SYSTEM, world.org_a, gem.find_mines(kuzbass_only=True))
    async with world.db.transaction() as s:
        again = await gem.import_mines(s, SYSTEM, world.org_a, gem.find_mines(kuzbass_only=True))
    assert (first.facilities_created, again.facilities_created, again.facilities_skipped) == (123, 0, 123)
    assert first.sources_created > 100
    headers = await world.login(Role.AUDITOR, world.org_a)
    chern = (await world.client.get("/api/v1/facilities", headers=headers, params={"gem_mine_id": "M0787"})).json()
    phases = chern["items"][0]["attributes"]["phases"]
    assert sorted(p["status"] for p in phases) == ["operating", "shelved"]
    assert chern["items"][0]["attributes"]["production_mt"] == 6.0
