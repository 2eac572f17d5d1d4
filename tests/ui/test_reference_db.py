"""The mine reference database pages without a browser: search, a mine's card with its years, statuses, sources,
versions and Tier 1/2/3, scoped to the organisation (public GEM rows for everyone, private rows for their owner
only), read-only for auditors, and in Russian."""

from __future__ import annotations

from fastapi import FastAPI

from ghgwatch.reference.minedb import seed
from ghgwatch.security.models import Role
from ghgwatch.store import Database
from tests.conftest import World, build_world
from tests.ui.test_sessions import browser, sign_in, ui_app, user  # noqa: F401  (ui_app is a fixture)

GEM_KEY = "gem:M0836"  # Raspadskaya Coal Mine, seeded from the shipped GEM files (migration 0018)


async def _private_mine(w: World) -> tuple[str, str]:
    """Organisation A's own mine with a year (production 1.2 Mt, 14.5 m3/t) and one correction of that year."""
    async with w.db.transaction() as s:  # PostgreSQL tests truncate every table, the GEM seed too
        await seed.ensure_seeded(s)
    headers = await w.login(Role.ENGINEER, w.org_a)
    mine = await w.client.post("/api/v1/reference/mines", headers=headers, json={
        "name_en": "Alpha Private Mine", "name_ru": "Шахта Альфа", "district": "Test district",
        "mining_method": "underground", "depth_m": 350, "source": "mine survey 2021", "data_status": "measured"})
    assert mine.status_code == 201, mine.text
    key = mine.json()["record_key"]
    year = await w.client.post("/api/v1/reference/mine-years", headers=headers, json={
        "mine_key": key, "year": 2021, "production_t": 1_200_000, "relative_m3_t": 13.0,
        "source": "annual report 2021", "data_status": "reported"})
    assert year.status_code == 201, year.text
    fixed = await w.client.patch(f"/api/v1/reference/mine-years/{year.json()['record_key']}", headers=headers,
                                 json={"relative_m3_t": 14.5, "comment": "degassing survey"})
    assert fixed.status_code == 200, fixed.text
    return key, year.json()["record_key"]


async def test_search_card_tiers_and_scoping(ui_app: FastAPI, db: Database) -> None:  # noqa: F811
    async with browser(ui_app) as api:
        w = await build_world(api, db)
        key, year_key = await _private_mine(w)
    engineer_a = await user(db, Role.ENGINEER, w.org_a)
    async with browser(ui_app) as c:
        await sign_in(c, engineer_a)
        found = await c.get("/reference", params={"tab": "minedb", "q": "альфа"})
        assert found.status_code == 200 and f'href="/reference/mines/{key}"' in found.text
        assert "Add a mine" in found.text and "/api/v1/reference/mine-years/export?format=xlsx" in found.text
        card = await c.get(f"/reference/mines/{key}")
        assert card.status_code == 200
        page = card.text
        assert "Alpha Private Mine" in page and "Test district" in page and "1,200,000" in page
        assert "14.5" in page and "reported" in page and "annual report 2021" in page  # value, status, source
        assert "degassing survey" in page  # the correction is in the versions, the first version too
        assert page.count("annual report 2021") >= 3
        # Tier 2 from the corrected relative methane content: 1.2e6 t × 14.5 m3/t × 0.67 kg/m3 = 11,658 t CH4
        # (IPCC 2006 Vol.2 Ch.4 Eq. 4.1.1 with the density of Eq. 4.1.7's text); Tier 1 for 200–400 m (18 m3/t).
        assert 'class="chosen" aria-current="true"><th scope="row">Tier 2' in page
        assert "11,658.0" in page and "14,472.0" in page
        assert f'data-correct="{year_key}"' in page and 'id="year-form"' in page
        gem_card = await c.get(f"/reference/mines/{GEM_KEY}")
        assert gem_card.status_code == 200 and "Raspadskaya" in gem_card.text and "Tier 1" in gem_card.text
        assert "public" in gem_card.text

    engineer_b = await user(db, Role.ENGINEER, w.org_b)
    async with browser(ui_app) as c:
        await sign_in(c, engineer_b)
        found = await c.get("/reference", params={"tab": "minedb", "q": "Alpha"})
        assert found.status_code == 200 and key not in found.text and "Alpha Private Mine" not in found.text
        hidden = await c.get(f"/reference/mines/{key}")
        assert hidden.status_code == 404 and "Alpha Private Mine" not in hidden.text
        public = await c.get("/reference", params={"tab": "minedb", "q": "Raspadskaya"})
        assert f'href="/reference/mines/{GEM_KEY}"' in public.text  # public GEM rows are visible to everyone
        # Organisation B's own figures for the public mine stay its own.
        assert (await c.get(f"/reference/mines/{GEM_KEY}")).status_code == 200


async def test_auditor_reads_without_edit_controls_and_russian(ui_app: FastAPI, db: Database) -> None:  # noqa: F811
    async with browser(ui_app) as api:
        w = await build_world(api, db)
        key, _ = await _private_mine(w)
    auditor = await user(db, Role.AUDITOR, w.org_a)
    async with browser(ui_app) as c:
        await sign_in(c, auditor)
        card = await c.get(f"/reference/mines/{key}")
        assert card.status_code == 200 and "Alpha Private Mine" in card.text
        assert "data-correct" not in card.text and "year-form" not in card.text and "reference.js" not in card.text
        tab = await c.get("/reference", params={"tab": "minedb"})
        assert "Add a mine" not in tab.text and "ref-import-form" not in tab.text
        assert "Your role can read the reference database but not change it." in tab.text
        evaluation = await c.get("/reference", params={"tab": "restoration"})
        assert 'id="evaluate-form"' in evaluation.text
        c.cookies.set("ghgwatch_lang", "ru")
        ru = (await c.get(f"/reference/mines/{key}")).text
        assert "Уровень 2" in ru and "Годы" in ru and "1\xa0200\xa0000" in ru and "14,5" in ru
        assert "сообщено" in ru  # the status "reported" in Russian
        tab_ru = (await c.get("/reference", params={"tab": "minedb"})).text
        assert "База данных шахт" in tab_ru
