"""The API's problem details in the caller's language (Accept-Language): common fixed details and templates
(domain ``web``), the 422 summary and each error's ``msg`` (pydantic's messages rebuilt by type, domain
``validation``); ``type`` and ``loc`` stay machine-readable and the same in every language."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from ghgwatch import i18n
from ghgwatch.kit.problems import Problem, not_found, too_large
from ghgwatch.security.models import Role
from tests.conftest import World

SRC = Path(i18n.__file__).resolve().parents[1]
RU = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
HELPERS = {"unauthorized", "forbidden", "conflict"}


def _web_ids() -> set[str]:
    with (i18n.CATALOG_DIR / "ru" / "LC_MESSAGES" / "web.po").open("rb") as fh:
        return {m.id for m in read_po(fh) if isinstance(m.id, str) and m.id and m.string}


def _detail_of(node: ast.Call) -> ast.expr | None:
    """The detail argument of a problem-making call (``not_found``: its key), or ``None`` for any other call."""
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    position = {"unauthorized": 0, "forbidden": 0, "conflict": 0, "not_found": 1, "Problem": 2}.get(name)
    if position is None:
        return None
    if len(node.args) > position:
        return node.args[position]
    return next((k.value for k in node.keywords if k.arg == "detail"), None)


def literal_details(source: str) -> list[str]:
    """Literal details and titles of problems (fixed texts and templates), of ``unauthorized``/``forbidden``/
    ``conflict`` calls, literal ``Term``s, and the kinds of record of ``not_found`` calls (an f-string detail is
    not looked for here: see :func:`fstring_details`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = node.args
        if name in HELPERS | {"not_found", "Term"} and args and isinstance(args[0], ast.Constant):
            found.append(args[0].value)
        elif name == "Problem" and len(args) >= 2:
            found.extend(a.value for a in args[1:3] if isinstance(a, ast.Constant))
    return [text for text in found if isinstance(text, str) and text]


def fstring_details(source: str) -> list[int]:
    """Lines of problem details written as f-strings: a sentence the catalog cannot hold, English in every
    language (a template with ``values`` is what to write instead)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(_detail_of(node), ast.JoinedStr)]


REMAINING_FSTRINGS = {
    # "{where}: {message}" around a message of pydantic, msgspec or an exception, English from elsewhere
    "alerts/queries.py": 1, "analytics/mapping.py": 1, "analytics/schemas.py": 1, "lab/endpoints.py": 1,
    "lab/service.py": 1, "uav/endpoints.py": 2, "uav/leak_endpoints.py": 1, "responses/endpoints.py": 1,
    # an English reason built elsewhere (inventory/stored.py) or an exception's text inside the sentence
    "inventory/endpoints.py": 1, "inventory/forecast.py": 1,
}
"""F-string details left (docs: /work/notes/i18n2.md); the number may go down, never up."""


def test_every_common_detail_in_the_source_has_a_russian_translation() -> None:
    details = {text for path in SRC.rglob("*.py") for text in literal_details(path.read_text("utf-8"))}
    assert len(details) > 40 and {"wrong username or password", "alert", "at most {limit} bytes"} <= details
    missing = sorted(details - _web_ids())
    assert not missing, "problem details without a Russian translation (web.po):\n" + "\n".join(missing)


def test_the_source_check_finds_a_new_detail() -> None:
    source = 'raise forbidden("a new rule")\nraise not_found("gadget", 3)\nraise conflict(f"{x} taken")\n' \
             'raise Problem(422, "Bad", "{n} widgets", values={"n": 2})\nraise Problem(422, "Bad", "plain")\n'
    assert literal_details(source) == ["a new rule", "gadget", "Bad", "{n} widgets", "Bad", "plain"]
    assert fstring_details(source) == [3]
    assert fstring_details('raise Problem(422, "Bad", detail=f"{x} is wrong")\nnot_found("user", f"{a}/{b}")\n') \
        == [1, 2]


def test_no_new_fstring_details() -> None:
    """Sign-off, work orders, registry, runs and reports have none left; elsewhere the count only goes down."""
    found = {path.relative_to(SRC).as_posix(): len(lines) for path in SRC.rglob("*.py")
             if (lines := fstring_details(path.read_text("utf-8")))}
    grown = {name: n for name, n in found.items() if n > REMAINING_FSTRINGS.get(name, 0)}
    assert not grown, f"problem details written as f-strings (write a template with values): {grown}"


def test_templates_and_terms_are_translated_after_lookup() -> None:
    ru, en = i18n.translator("ru", "web"), i18n.translator("en", "web")
    gone = not_found("facility", 7)
    assert gone.detail == "facility 7 does not exist" and gone.localised_detail(en) == gone.detail
    assert gone.localised_detail(ru) == "объект 7: такой записи нет"
    assert too_large(1000).localised_detail(ru) == "не больше 1000 байт"
    own = Problem(400, "Bad Request", "a sentence of {who} own", values={"who": "its"})
    assert own.localised_detail(ru) == "a sentence of its own"  # not in the catalog: stays English
    braces = Problem(409, "Conflict", "a {literal} brace")  # no values: not a template
    assert braces.detail == "a {literal} brace" and braces.localised_detail(ru) == "a {literal} brace"


async def test_common_details_in_russian(world: World) -> None:
    client = world.client
    unauthorised = await client.get("/api/v1/me", headers=RU)
    assert unauthorised.status_code == 401
    assert unauthorised.json()["detail"] == "нет данных для входа или они неверны"
    english = await client.get("/api/v1/me")
    assert english.json()["detail"] == "missing or invalid credentials"
    assert english.json()["type"] == unauthorised.json()["type"]

    nowhere = await client.get("/api/v1/nowhere", headers=RU)
    assert nowhere.status_code == 404 and nowhere.json()["detail"] == "Не найдено"

    admin = await world.login(Role.ADMIN, world.org_a)
    missing = await client.get("/api/v1/facilities/999999", headers=admin | RU)
    assert missing.status_code == 404 and missing.json()["detail"] == "объект 999999: такой записи нет"
    missing_en = await client.get("/api/v1/facilities/999999", headers=admin)
    assert missing_en.json()["detail"] == "facility 999999 does not exist"

    other = await client.get(f"/api/v1/facilities/{world.facility_b}", headers=admin | RU)
    assert other.status_code in (403, 404)  # another organisation's facility is not revealed in any language
    assert other.json()["detail"].isascii() is False

    operator = await world.login(Role.OPERATOR, world.org_a)
    refused = await client.post("/api/v1/facilities", headers=operator | RU, json={
        "organization_id": world.org_a, "name": "New mine", "type": "underground_mine"})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("роли 'operator' это не разрешено (нужна одна из: ")

    user = {"username": "twice", "password": "password-123", "role": "engineer", "organization_id": world.org_a}
    assert (await client.post("/api/v1/users", headers=admin, json=user)).status_code == 201
    taken = await client.post("/api/v1/users", headers=admin | RU, json=user)
    assert taken.status_code == 409 and taken.json()["detail"] == "пользователь 'twice' уже есть"


async def test_validation_errors_in_russian(world: World) -> None:
    client = world.client
    admin = await world.login(Role.ADMIN, world.org_a)
    bad_query = await client.get("/api/v1/alerts", params={"limit": "many"}, headers=admin | RU)
    assert bad_query.status_code == 422, bad_query.text
    body = bad_query.json()
    assert body["title"] == "Ошибка в данных" and body["detail"] == "ошибки в полях: query.limit"
    assert body["errors"] == [{"loc": ["query", "limit"], "type": "int_parsing",
                               "msg": "Нужно целое число: строку не удалось прочитать как целое число"}]

    bad_body = await client.post("/api/v1/facilities", headers=admin | RU, json={
        "organization_id": world.org_a, "name": "x" * 201, "latitude": "north"})
    assert bad_body.status_code == 422, bad_body.text
    errors = {".".join(e["loc"]): e for e in bad_body.json()["errors"]}
    assert errors["body.name"]["msg"] == "Строка должна быть не длиннее 200 символов"
    assert errors["body.name"]["type"] == "string_too_long"
    assert errors["body.type"]["msg"] == "Обязательное поле" and errors["body.type"]["type"] == "missing"
    assert errors["body.latitude"]["msg"].startswith("Нужно число")
    assert bad_body.json()["detail"].startswith("ошибки в полях: body.")  # field names as they are

    english = await client.post("/api/v1/facilities", headers=admin, json={
        "organization_id": world.org_a, "name": "x" * 201, "type": "underground_mine"})
    assert english.json()["detail"] == "invalid fields: body.name"
    assert english.json()["errors"][0]["msg"] == "String should have at most 200 characters"

    overflow = await client.get(f"/api/v1/facilities/{10**20}", headers=admin | RU)  # beyond int64
    assert overflow.status_code == 422, overflow.text
    assert overflow.json()["detail"] == f"path.key: вне допустимого диапазона (целые числа до {2**31 - 1})"
