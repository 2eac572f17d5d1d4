"""What every CLI command needs: settings, an upgraded database, an event loop, an error exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from ghgwatch import i18n
from ghgwatch.kit.problems import Problem
from ghgwatch.settings import ConfigurationError, Settings, build_settings
from ghgwatch.store import Database, open_database
from ghgwatch.store.migrate import upgrade

T = TypeVar("T")
# Messages are for people and for scripts: never wrapped at the terminal width (piped, rich assumes 80
# columns and would break "row 3" into "row\n3"); tables still fit the width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DataDir = typer.Option(None, "--data-dir", help="Data folder (default: $GHGWATCH_DATA_DIR or ./ghgwatch-data)")


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    try:
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        settings = build_settings(**overrides)
    except ConfigurationError as exc:
        fail(str(exc))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


_locale: list[str] = [i18n.DEFAULT_LOCALE]


def set_locale(value: str | None) -> None:
    """The language of messages for this command (``--lang``, else ``$LANG``; default English)."""
    _locale[0] = i18n.normalise_locale(value)


def tr() -> i18n.Translator:
    """Messages of the command line (domain ``cli``) in the chosen language."""
    return i18n.translator(_locale[0], "cli")


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[red]{tr().gettext('error')}:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def describe_error(e: dict[str, Any]) -> str:
    """One problem item as ``where: message`` (API ``loc``/``msg`` items and inventory-input items alike)."""
    if "loc" in e or "msg" in e:
        where, msg = ".".join(map(str, e.get("loc", []))), e.get("msg")
    else:
        parts = []
        if e.get("index") is not None:
            parts.append(f"activity {e.get('activity_id')!r} (index {e['index']})")
        if e.get("field"):
            parts.append(f"field '{e['field']}'")
        where, msg = ", ".join(parts), e.get("message")
    msg = str(msg).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def validation_message(exc: Any) -> str:
    """A pydantic ValidationError as ``field: message; ...`` without pydantic's own text or web links."""
    return "; ".join(describe_error({"loc": list(e["loc"]), "msg": e["msg"]}) for e in exc.errors(include_url=False))


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    try:
        return asyncio.run(main())
    except Problem as exc:
        detail = exc.detail or exc.title
        if exc.errors:
            detail += "; " + "; ".join(describe_error(e) for e in exc.errors)
        fail(detail)


def finish_import(report: Any, file: Path) -> None:
    """Print an import report as JSON, each rejected row on stderr, and exit 1 if any row was rejected."""
    import json

    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.errors:
        for e in report.errors:
            err_console.print(f"{file}: row {e.row}: " + "; ".join(
                f"{'.'.join(map(str, x.get('loc', [])))}: {x.get('msg')}" for x in e.errors), highlight=False)
        raise typer.Exit(1)


async def migrate(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings.database_url)


@asynccontextmanager
async def database(settings: Settings, *, auto_upgrade: bool = True) -> AsyncIterator[Database]:
    from ghgwatch.security.crypto import cipher_from_settings, install_cipher

    install_cipher(cipher_from_settings(settings))
    from ghgwatch.audit.anchor import install_key, key_from_settings

    install_key(key_from_settings(settings))
    if auto_upgrade:
        await migrate(settings)
    db = open_database(settings.database_url)
    try:
        yield db
    finally:
        await db.dispose()
