"""The CLI and the API speak the caller's language (catalog domains ``cli`` and ``web``)."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from ghgwatch.cli import app


def test_cli_language_from_option_and_environment() -> None:
    runner = CliRunner()
    russian = runner.invoke(app, ["--lang", "ru", "factors", "export", "bogus"])
    assert russian.exit_code == 2 and "ошибка:" in russian.output
    from_env = runner.invoke(app, ["factors", "export", "bogus"], env={"LANG": "ru_RU.UTF-8"})
    assert "ошибка:" in from_env.output
    english = runner.invoke(app, ["factors", "export", "bogus"], env={"LANG": "C.UTF-8"})
    assert "error:" in english.output and "ошибка" not in english.output


async def test_api_problem_titles_follow_accept_language(client: httpx.AsyncClient) -> None:
    plain = await client.get("/api/v1/me")
    assert plain.status_code == 401 and plain.json()["title"] == "Unauthorized"
    russian = await client.get("/api/v1/me", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert russian.json()["title"] == "Требуется вход" and russian.headers["content-language"] == "ru"
    assert russian.json()["type"] == plain.json()["type"]  # clients match on the type, which stays the same
    missing = await client.get("/api/v1/nowhere", headers={"Accept-Language": "ru"})
    assert missing.status_code == 404 and missing.json()["title"] == "Не найдено"
