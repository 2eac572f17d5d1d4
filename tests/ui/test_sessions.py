"""Browser sessions without a browser: sign-in form, session cookie, CSRF, safe redirects, org scoping."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import Settings
from ghgwatch.store import Database
from ghgwatch.web.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import World, build_world

PASSWORD = "password-123"
LOGIN_TOKEN = re.compile(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def ui_app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    from ghgwatch.web import create_app

    application = create_app(settings, db=db, role="ui")
    async with application.router.lifespan_context(application):
        yield application


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def world(ui_app: FastAPI, db: Database) -> World:
    async with browser(ui_app) as c:
        return await build_world(c, db)


async def user(db: Database, role: Role, org: int | None) -> str:
    name = f"{role.value}-{uuid.uuid4().hex[:6]}"
    async with db.transaction() as s:
        await service.create_user(s, SYSTEM, username=name, password=PASSWORD, role=role, organization_id=org)
    return name


async def sign_in(c: httpx.AsyncClient, username: str, next_path: str = "/") -> httpx.Response:
    form = await c.get("/login")
    token = LOGIN_TOKEN.search(form.text)
    assert token is not None
    return await c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1),
                                        "next": next_path})


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page)
    assert found is not None
    return found.group(1)


async def test_pages_need_a_session_and_sign_in_sets_a_strict_cookie(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.ENGINEER, world.org_a)
    async with browser(ui_app) as c:
        answer = await c.get("/monitoring")
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/monitoring"
        signed = await sign_in(c, name, "/alerts")
        assert signed.status_code == 303 and signed.headers["location"] == "/alerts"
        cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        page = await c.get("/")
        assert page.status_code == 200 and "Mine a" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert (await c.get("/api/v1/me")).json()["username"] == name


async def test_sign_in_refuses_wrong_password_and_a_forged_form(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.ENGINEER, world.org_a)
    async with browser(ui_app) as c:
        await c.get("/login")
        forged = await c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": "guess"})
        assert forged.status_code == 400 and SESSION_COOKIE not in forged.cookies
        form = await c.get("/login")
        token = LOGIN_TOKEN.search(form.text)
        assert token is not None and c.cookies.get(LOGIN_CSRF_COOKIE) == token.group(1)
        wrong = await c.post("/login", data={"username": name, "password": "nope-nope", "csrf_token": token.group(1)})
        assert wrong.status_code == 401 and "Wrong username or password." in wrong.text


async def test_cookie_writes_need_the_csrf_header(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.ENGINEER, world.org_a)
    async with browser(ui_app) as c:
        await sign_in(c, name)
        csrf = csrf_of((await c.get("/registry")).text)
        body = {"organization_id": world.org_a, "name": "Shaft 9 site", "type": "other"}
        refused = await c.post("/api/v1/facilities", json=body)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
        wrong = await c.post("/api/v1/facilities", json=body, headers={"X-CSRF-Token": csrf + "x"})
        assert wrong.status_code == 403
        created = await c.post("/api/v1/facilities", json=body, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text


async def test_sign_in_redirects_only_to_this_server(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.OPERATOR, world.org_a)
    async with browser(ui_app) as c:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            answer = await sign_in(c, name, target)
            assert answer.status_code == 303, (target, answer.status_code, answer.text[:300])
            assert answer.headers["location"] == "/"


async def test_sign_out_needs_the_token_and_ends_the_session(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.AUDITOR, world.org_a)
    async with browser(ui_app) as c:
        await sign_in(c, name)
        csrf = csrf_of((await c.get("/")).text)
        await c.post("/logout", data={"csrf_token": "forged"})
        assert (await c.get("/")).status_code == 200  # a forged sign-out changes nothing
        answer = await c.post("/logout", data={"csrf_token": csrf})
        assert answer.status_code == 303 and SESSION_COOKIE not in c.cookies
        assert (await c.get("/")).status_code == 303


async def test_pages_show_only_the_viewers_organisation(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.ENGINEER, world.org_b)
    async with browser(ui_app) as c:
        await sign_in(c, name)
        for path in ("/", f"/monitoring?facility={world.facility_a}", "/board", "/alerts", "/inventory",
                     f"/analytics?tab=correlation&facility={world.facility_a}"):
            page = await c.get(path)
            assert page.status_code == 200, path
            assert "Mine b" in page.text and "Mine a" not in page.text, path
        readings = await c.get(f"/api/v1/sensors/{world.sensor_a}/readings")
        assert readings.status_code == 403
        assert (await c.get("/audit")).status_code == 403  # an engineer does not read the audit log


async def test_language_is_chosen_and_remembered(ui_app: FastAPI, world: World) -> None:
    name = await user(world.db, Role.ADMIN, world.org_a)
    async with browser(ui_app) as c:
        await sign_in(c, name)
        assert "<h1>Overview</h1>" in (await c.get("/")).text
        assert "<h1>Обзор</h1>" in (await c.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"})).text
        switched = await c.get("/lang/ru", params={"next": "/alerts"})
        assert switched.status_code == 303 and switched.headers["location"] == "/alerts"
        page = await c.get("/")
        assert '<html lang="ru">' in page.text and "Оповещения" in page.text


async def test_api_docs_and_assets_are_served_locally(ui_app: FastAPI) -> None:
    async with browser(ui_app) as c:
        docs = (await c.get("/docs")).text
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        for path in ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/uplot/uPlot.iife.min.js",
                     "/static/vendor/swagger-ui/LICENSE", "/static/vendor/uplot/LICENSE", "/static/app.css"):
            assert (await c.get(path)).status_code == 200, path


async def test_sign_in_form_rate_limited_in_the_visitors_language(ui_app: FastAPI, world: World) -> None:
    from ghgwatch.security.accounts import LoginGuard
    from ghgwatch.settings import SecuritySettings

    ui_app.state.ctx.extras["login_guard"] = LoginGuard(SecuritySettings(login_failures_per_user=2))
    name = await user(world.db, Role.ENGINEER, world.org_a)
    async with browser(ui_app) as c:
        c.headers["Accept-Language"] = "ru"
        codes = []
        for password in ("nope-nope", "nope-nope", PASSWORD):  # locked for a while: even the right one waits
            token = LOGIN_TOKEN.search((await c.get("/login")).text)
            assert token is not None
            answer = await c.post("/login", data={"username": name, "password": password, "csrf_token": token.group(1)})
            codes.append(answer.status_code)
        assert codes == [401, 401, 429]
        assert "Слишком много попыток входа" in answer.text and SESSION_COOKIE not in answer.cookies


async def test_a_deactivated_users_session_ends(ui_app: FastAPI, world: World) -> None:
    from ghgwatch.security.accounts import user_cache
    from ghgwatch.security.models import User

    name = await user(world.db, Role.ENGINEER, world.org_a)
    async with browser(ui_app) as c:
        assert (await sign_in(c, name)).status_code == 303
        assert (await c.get("/monitoring")).status_code == 200
        async with world.db.transaction() as s:  # as `ghgwatch` in another process would
            found = (await s.execute(select(User).where(User.username == name))).scalar_one()
            found.active = False
            uid = found.id
        user_cache(ui_app.state.ctx.extras, world.db, ui_app.state.ctx.settings.security).forget(uid)  # skip the TTL
        answer = await c.get("/monitoring")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def test_audit_page_hides_the_platforms_entry_count_from_an_organisation(ui_app: FastAPI, world: World) -> None:
    from sqlalchemy import func

    from ghgwatch.audit.models import AuditEntry

    auditor = await user(world.db, Role.AUDITOR, world.org_a)
    admin = await user(world.db, Role.ADMIN, None)
    async with browser(ui_app) as c:
        await sign_in(c, auditor)
        page = await c.get("/audit")
        async with world.db.sessions() as s:
            total = (await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
            own = (await s.execute(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.organization_id == world.org_a))).scalar_one()
        assert page.status_code == 200
        assert f"The audit chain is intact: {own} entries of your organisation checked." in page.text
        assert f"<td>{total}</td>" not in page.text and "<th>#</th>" not in page.text  # no sequence numbers
    async with browser(ui_app) as c:
        await sign_in(c, admin)
        page = await c.get("/audit")
        assert "<th>#</th>" in page.text and "The audit chain is intact: " in page.text
