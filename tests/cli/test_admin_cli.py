"""The administrative CLI end to end on a data folder (SQLite) and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app

runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    if request.param != "postgres":
        yield env
        return
    # An empty database of its own: the CLI migrates it like production does.
    from tests.support import postgres

    admin: str = request.getfixturevalue("pg_admin_url")
    name = f"ghgwatch_cli_{uuid.uuid4().hex[:8]}"
    env["GHGWATCH_DB__URL"] = postgres.asyncpg_url(postgres.create_database(admin, name))
    yield env
    postgres.drop_database(admin, name)


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_admin_workflow(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = invoke(cli_env, "db", "upgrade")
    assert code == 0, out
    code, out, _ = invoke(cli_env, "org", "create", "Kuzbass Coal")
    assert code == 0
    org = json.loads(out)["id"]

    code, out, _ = invoke(cli_env, "import", "gem", "--organization", str(org), "--mine", "M0836")
    assert code == 0, out
    first = json.loads(out)
    assert first["facilities_created"] == 1 and first["sources_created"] >= 5
    code, out, _ = invoke(cli_env, "import", "gem", "--organization", str(org), "--mine", "M0836")
    assert json.loads(out)["facilities_skipped"] == 1

    code, out, _ = invoke(cli_env, "device", "create", "gateway", "--organization", str(org), "--json")
    assert code == 0
    device = json.loads(out)
    assert device["token"].startswith(f"gwd_{device['id']}_")
    code, out, _ = invoke(cli_env, "device", "list", "--json")
    assert [d["id"] for d in json.loads(out)] == [device["id"]]
    code, out, _ = invoke(cli_env, "device", "revoke", str(device["id"]))
    assert code == 0
    code, out, _ = invoke(cli_env, "device", "list", "--json")
    assert json.loads(out)[0]["revoked_at"]

    code, out, err = invoke({**cli_env, "GHGWATCH_NEW_PASSWORD": "s3cret-pass"}, "user", "create", "alice",
                            "--role", "engineer", "--organization", str(org))
    assert code == 0, err
    code, out, err = invoke({**cli_env, "GHGWATCH_NEW_PASSWORD": "s3cret-pass"}, "user", "create", "alice",
                            "--role", "engineer", "--organization", str(org))
    assert code == 2 and "exists" in err

    code, out, _ = invoke(cli_env, "audit", "verify")
    assert code == 0 and "intact" in out


def test_device_create_and_list_show_the_mqtt_account_in_english_and_russian(cli_env: dict[str, str]) -> None:
    """The operator reads the device's MQTT username and topic where the token is printed, in either language."""
    assert invoke(cli_env, "db", "upgrade")[0] == 0
    org = json.loads(invoke(cli_env, "org", "create", "Kuzbass Coal")[1])["id"]
    shown = {}
    for lang in ("en", "ru"):
        result = runner.invoke(app, ["--lang", lang, "device", "create", f"meter-{lang}", "--organization", str(org)],
                               env=cli_env, terminal_width=200)
        assert result.exit_code == 0, result.output
        device = int(result.stdout.split()[1])  # "device 7 created..." / "устройство 7 создано..."
        shown[lang] = (result.stdout, device)
    english, en_id = shown["en"]
    assert f"MQTT username: {org}/{en_id} (password: the token)" in english
    assert f"MQTT topic: ghgwatch/{org}/{en_id}/readings" in english
    russian, ru_id = shown["ru"]
    assert f"логин MQTT: {org}/{ru_id} (пароль: токен)" in russian
    assert f"топик MQTT: ghgwatch/{org}/{ru_id}/readings" in russian

    code, out, _ = invoke(cli_env, "device", "create", "meter-json", "--organization", str(org), "--json")
    assert code == 0, out
    created = json.loads(out)
    assert (created["mqtt_username"], created["mqtt_topic"]) == (
        f"{org}/{created['id']}", f"ghgwatch/{org}/{created['id']}/readings")
    listed = json.loads(invoke(cli_env, "device", "list", "--json")[1])
    assert [(d["mqtt_username"], d["mqtt_topic"]) for d in listed] == [
        (f"{org}/{d}", f"ghgwatch/{org}/{d}/readings") for d in (en_id, ru_id, created["id"])]
    assert not any("token" in d or "hmac_secret" in d for d in listed)
    table = runner.invoke(app, ["--lang", "ru", "device", "list"], env={**cli_env, "COLUMNS": "160"}).stdout
    assert "логин MQTT" in table and f"│ {org}/{ru_id} " in table, table


def test_import_table_reports_bad_rows(cli_env: dict[str, str], tmp_path: Path) -> None:
    invoke(cli_env, "org", "create", "Org")
    file = tmp_path / "facilities.csv"
    file.write_text("organization_id,name,type\n1,Good,other\n1,Bad,volcano\n")
    code, out, err = invoke(cli_env, "import", "table", "facilities", str(file))
    assert code == 1
    assert json.loads(out)["created"] == 1
    assert "row 3" in err and "type" in err
    code, out, _ = invoke(cli_env, "import", "table", "facilities", str(file), "--mode", "atomic")
    assert code == 1 and json.loads(out)["written"] is False


def test_audit_verify_fails_on_tampering(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    for name in ("A", "B", "C"):
        assert invoke(env, "org", "create", name)[0] == 0
    with sqlite3.connect(tmp_path / "data" / "ghgwatch.db") as conn:
        conn.execute("UPDATE audit_log SET after = json_set(after, '$.name', 'Z') WHERE id = 2")
    code, _, err = invoke(env, "audit", "verify")
    assert code == 1
    assert "entry 2" in err


def test_audit_anchor_macs_legacy_entries_once_and_never_blesses_a_broken_chain(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    for name in ("A", "B", "C"):
        assert invoke(env, "org", "create", name)[0] == 0
    assert (tmp_path / "data" / "audit.key").stat().st_mode & 0o777 == 0o600
    db = tmp_path / "data" / "ghgwatch.db"
    with sqlite3.connect(db) as conn:  # entries written before migration 0017 carry no MAC
        conn.execute("UPDATE audit_log SET mac = NULL")
        conn.execute("UPDATE audit_head SET mac = NULL")
    code, _, err = invoke(env, "audit", "verify")
    assert code == 1 and "no MAC" in err
    code, out, _ = invoke(env, "audit", "anchor")
    assert code == 0 and "3 entries" in out
    code, out, _ = invoke(env, "audit", "verify")
    assert code == 0 and "3 entries verified" in out
    assert invoke(env, "audit", "anchor")[1].count("0 entries") == 1  # idempotent

    other_key = {**env, "GHGWATCH_SECURITY__AUDIT_KEY": "another-key-held-elsewhere"}
    code, _, err = invoke(other_key, "audit", "verify")
    assert code == 1 and "MAC does not match" in err
    code, _, err = invoke(other_key, "audit", "anchor")  # existing MACs are checked, not rewritten
    assert code == 1 and "not anchored" in err

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET mac = NULL, after = json_set(after, '$.name', 'Z') WHERE id = 2")
    code, _, err = invoke(env, "audit", "anchor")
    assert code == 1 and "entry 2" in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT mac FROM audit_log WHERE id = 2").fetchone() == (None,)


def test_cluster_mode_refuses_default_secret(tmp_path: Path) -> None:
    code, _, err = invoke({"GHGWATCH_MODE": "cluster", "GHGWATCH_DB__URL": "sqlite+aiosqlite:///x.db"},
                          "db", "upgrade")
    assert code == 2
    assert "JWT_SECRET" in err
