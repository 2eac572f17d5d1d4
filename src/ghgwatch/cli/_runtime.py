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


def locale() -> str:
    """The language chosen for this command (``en`` or ``ru``)."""
    return _locale[0]


def _(message: str, /, **values: Any) -> str:
    """A message of the command line in the chosen language (extracted by Babel as ``_``)."""
    return tr().gettext(message, **values)


def ngettext(singular: str, plural: str, n: int, /, **values: Any) -> str:
    """A message with a count in the chosen language (``{n}`` is the count; Russian has three plural forms)."""
    return tr().ngettext(singular, plural, n, **values)


def num(value: float | int | None, digits: int | None = None) -> str:
    """A number in the chosen language's format (Babel/CLDR): ``12,345.6`` in English, ``12 345,6`` in Russian."""
    return i18n.format_number(value, _locale[0], digits)


def sig(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits (like ``:.3g`` but never in exponent form), trailing zeros
    dropped, in the chosen language's number format: ``sig(0.012345)`` is ``0.0123`` / ``0,0123``."""
    import math

    from babel.numbers import format_decimal

    if value is None:
        return ""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return str(format_decimal(round(value, decimals), format=pattern, locale=_locale[0]))


def fail(message: str, code: int = 2) -> NoReturn:
    from rich.markup import escape

    # The message is text, not markup: "['a']" in a message must print as it is.
    err_console.print(f"[red]{tr().gettext('error')}:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def describe_error(e: dict[str, Any]) -> str:
    """One problem item as ``where: message`` (API ``loc``/``msg`` items and inventory-input items alike)."""
    if "loc" in e or "msg" in e:
        where, msg = ".".join(map(str, e.get("loc", []))), e.get("msg")
    else:
        parts = []
        if e.get("index") is not None:
            parts.append(_("activity {activity} (index {index})", activity=repr(e.get("activity_id")),
                           index=e["index"]))
        if e.get("field"):
            parts.append(_("field '{field}'", field=e["field"]))
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
        # Translated like the API's problems (domain "web"): a common detail or template, else the bare title.
        web = i18n.translator(_locale[0], "web")
        detail = exc.localised_detail(web) or web.gettext(exc.title)
        if exc.errors:
            detail += "; " + "; ".join(describe_error(e) for e in exc.errors)
        fail(detail)


def finish_import(report: Any, file: Path) -> None:
    """Print an import report as JSON, each rejected row on stderr, and exit 1 if any row was rejected."""
    import json

    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.errors:
        for e in report.errors:
            err_console.print(f"{file}: " + _("row {row}", row=e.row) + ": " + "; ".join(
                f"{'.'.join(map(str, x.get('loc', [])))}: {x.get('msg')}" for x in e.errors), highlight=False)
        raise typer.Exit(1)


async def migrate(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings.database_url)


@asynccontextmanager
async def database(settings: Settings, *, auto_upgrade: bool = True) -> AsyncIterator[Database]:
    from ghgwatch.security.crypto import cipher_from_settings, install_cipher

    install_cipher(cipher_from_settings(settings))
    from ghgwatch.security.passwords import install_cost_from_settings

    install_cost_from_settings(settings.security)
    from ghgwatch.audit.anchor import install_key, key_from_settings

    install_key(key_from_settings(settings))
    if auto_upgrade:
        await migrate(settings)
    db = open_database(settings.database_url)
    try:
        yield db
    finally:
        await db.dispose()
