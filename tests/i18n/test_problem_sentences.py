"""Problem details that were whole English sentences (sign-off rules, work-order moves, registry conflicts) are
templates now: ``Accept-Language: ru`` gives them in Russian, with the values filled in, and English is word for
word what it was."""

from __future__ import annotations

import httpx

from ghgwatch.security.models import Role
from tests.conftest import World

RU = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
REPORTS = "/api/v1/inventory/reports"


async def _name(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/v1/me", headers=headers)).json()["username"])


async def test_sign_off_refusals_in_russian(world: World) -> None:
    client = world.client
    preparer = await world.login(Role.ADMIN, world.org_a)
    approver = await world.login(Role.ADMIN, world.org_a)
    activity = await client.post("/api/v1/activity-data", headers=preparer, json={
        "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": "coal_mining_underground", "data": {"coal_t": 1_000_000}, "unit": "t"})
    assert activity.status_code == 201, activity.text
    created = await client.post(REPORTS, headers=preparer, json={"organization_id": world.org_a, "year": 2025})
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    url = f"{REPORTS}/{report_id}"
    who = await _name(client, preparer)

    own = await client.post(f"{url}/review", headers=preparer | RU, json={})
    assert own.status_code == 403 and own.headers["content-language"] == "ru"
    assert own.json()["detail"] == (f"'{who}' подготовил(а) этот отчёт и не может его проверить: отчёт проверяет "
                                    "другой администратор или инженер")
    own_en = await client.post(f"{url}/review", headers=preparer, json={})
    assert own_en.json()["detail"] == (f"'{who}' prepared this report and may not review it: a report is reviewed "
                                       "by another administrator or engineer")
    assert own_en.json()["type"] == own.json()["type"]

    early = await client.post(f"{url}/approve", headers=approver | RU, json={})
    assert early.status_code == 409, early.text
    assert early.json()["detail"] == (f"отчёт {report_id} в состоянии «черновик»; чтобы его утвердить, он должен "
                                      "быть в состоянии «проверен»")
    early_en = await client.post(f"{url}/approve", headers=approver, json={})
    assert early_en.json()["detail"] == f"report {report_id} is draft; it must be reviewed to be approved"


async def test_work_order_move_in_russian(world: World) -> None:
    client = world.client
    operator = await world.login(Role.OPERATOR, world.org_a)
    created = await client.post("/api/v1/work-orders", headers=operator, json={
        "title": "Check degassing pipeline DS-2", "facility_id": world.facility_a})
    assert created.status_code == 201, created.text
    key = created.json()["id"]
    url = f"/api/v1/work-orders/{key}"
    skip = await client.patch(url, headers=operator | RU, json={"status": "done"})
    assert skip.status_code == 409, skip.text
    assert skip.json()["detail"] == f"наряд {key} в статусе open: его нельзя перевести в done (только в in_progress)"
    skip_en = await client.patch(url, headers=operator, json={"status": "done"})
    assert skip_en.json()["detail"] == f"work order {key} is open: it cannot move to done (only to in_progress)"
    for status in ("in_progress", "done"):
        assert (await client.patch(url, headers=operator, json={"status": status})).status_code == 200
    back = await client.patch(url, headers=operator | RU, json={"status": "open"})
    assert back.status_code == 409
    assert back.json()["detail"] == f"наряд {key} в статусе done: его нельзя перевести в open (он завершён)"


async def test_factor_set_version_conflict_in_russian(world: World) -> None:
    client = world.client
    engineer = await world.login(Role.ENGINEER, world.org_a)
    body = {"name": "mine-a", "version": "1", "values": {"factors": [
        {"name": "underground_mining", "value": 12.0, "unit": "m3/t", "status": "user",
         "source": {"document": "mine degassing study 2024"}}]}}
    assert (await client.post("/api/v1/factor-sets", headers=engineer, json=body)).status_code == 201
    again = await client.post("/api/v1/factor-sets", headers=engineer | RU, json=body)
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "набор коэффициентов mine-a версии 1 уже есть; укажите новую версию"
    again_en = await client.post("/api/v1/factor-sets", headers=engineer, json=body)
    assert again_en.json()["detail"] == "factor set mine-a version 1 exists; give a new version"


async def test_our_own_value_error_in_russian(world: World) -> None:
    client = world.client
    engineer = await world.login(Role.ENGINEER, world.org_a)
    url = f"/api/v1/sensors/{world.sensor_a}"
    upside_down = await client.patch(url, headers=engineer | RU, json={"range_min": 10, "range_max": 5})
    assert upside_down.status_code == 422, upside_down.text
    error = upside_down.json()["errors"][0]
    assert error["type"] == "value_error"
    assert error["msg"] == "Недопустимое значение: range_min должен быть меньше range_max"
    english = await client.patch(url, headers=engineer, json={"range_min": 10, "range_max": 5})
    assert english.json()["errors"][0]["msg"] == "Value error, range_min must be below range_max"
