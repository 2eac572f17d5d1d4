"""One mechanism for every language and format: gettext catalogs handled with Babel.

Catalogs are ``.po`` files under ``i18n/locales/<locale>/LC_MESSAGES/<domain>.po``, one domain per top-level
package that people read text from (``ui``, ``reports``, ``cli``, ``web``, ...), so that each area keeps its own
file. Source text (the ``msgid``) is English; English therefore needs no catalog. Catalogs are compiled in memory
on first use (no build step, nothing compiled is committed).

Numbers, dates and units are formatted per locale by Babel (CLDR data): ``format_number(97207.153, "ru", 1)``
gives ``"97 207,2"`` (with a no-break space), ``"97,207.2"`` in English.
"""

from __future__ import annotations

import gettext as _gettext
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel import dates as _dates
from babel import numbers as _numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES: tuple[str, ...] = ("en", "ru")
DEFAULT_LOCALE = "en"
CATALOG_DIR = Path(__file__).parent / "locales"

__all__ = [
    "CATALOG_DIR",
    "DEFAULT_LOCALE",
    "LOCALES",
    "N_",
    "Translator",
    "format_date",
    "format_datetime",
    "format_number",
    "format_percent",
    "negotiate",
    "normalise_locale",
    "translator",
]


def N_(message: str) -> str:
    """Mark a string for a catalog without translating it here (gettext's name, which Babel's extractor knows)."""
    return message


def normalise_locale(value: str | None) -> str:
    """``"ru-RU"``, ``"ru_RU.UTF-8"`` or ``"RU"`` → ``"ru"``; anything unsupported → the default."""
    if not value:
        return DEFAULT_LOCALE
    code = value.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    return code if code in LOCALES else DEFAULT_LOCALE


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an ``Accept-Language`` header (quality values honoured)."""
    if not accept_language:
        return DEFAULT_LOCALE
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().replace("-", "_").split("_")[0].lower()
        if code in LOCALES and quality > 0:
            choices.append((-quality, position, code))
    return min(choices)[2] if choices else DEFAULT_LOCALE


@lru_cache(maxsize=64)
def _translations(domain: str, locale: str) -> _gettext.NullTranslations:
    path = CATALOG_DIR / locale / "LC_MESSAGES" / f"{domain}.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


class Translator:
    """Messages of one domain in one locale. ``gettext`` interpolates ``{name}`` placeholders after lookup."""

    def __init__(self, locale: str, domain: str) -> None:
        self.locale = normalise_locale(locale)
        self.domain = domain
        self._t = _translations(domain, self.locale)

    def gettext(self, message: str, /, **values: Any) -> str:
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def pgettext(self, context: str, message: str, /, **values: Any) -> str:
        text = self._t.pgettext(context, message)
        return text.format(**values) if values else text

    # The usual short names, so that Babel's extractor finds the strings (keywords _, ngettext, pgettext).
    _ = gettext

    def number(self, value: float | int | Decimal | None, digits: int | None = None) -> str:
        return format_number(value, self.locale, digits)

    def datetime(self, value: datetime | None, fmt: str = "medium", tz: tzinfo | str | None = None) -> str:
        return format_datetime(value, self.locale, fmt, tz)

    def date(self, value: date | None, fmt: str = "medium") -> str:
        return format_date(value, self.locale, fmt)


def translator(locale: str | None, domain: str) -> Translator:
    return Translator(normalise_locale(locale), domain)


def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(normalise_locale(locale))
    except UnknownLocaleError:  # pragma: no cover - CLDR always has en and ru
        return Locale.parse(DEFAULT_LOCALE)


def format_number(value: float | int | Decimal | None, locale: str, digits: int | None = None) -> str:
    """A number with the locale's grouping and decimal sign; ``digits`` fixes the decimals ("" for None)."""
    if value is None:
        return ""
    if digits is None:
        return _numbers.format_decimal(value, locale=_babel_locale(locale))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _numbers.format_decimal(value, format=pattern, locale=_babel_locale(locale),
                                   decimal_quantization=True)


def format_percent(value: float | None, locale: str, digits: int = 1) -> str:
    """``0.263`` → ``"26.3%"`` (en) or ``"26,3 %"`` (ru)."""
    if value is None:
        return ""
    import copy

    babel_locale = _babel_locale(locale)
    pattern = copy.copy(babel_locale.percent_formats[None])  # the locale's own pattern ("#,##0 %" in ru)
    pattern.frac_prec = (digits, digits)
    return str(pattern.apply(value, babel_locale))


def format_datetime(value: datetime | None, locale: str, fmt: str = "medium",
                    tz: tzinfo | str | None = None) -> str:
    """A local date and time in the locale's format (``tz``: a zone name or tzinfo; default UTC)."""
    if value is None:
        return ""
    return _dates.format_datetime(value, format=fmt, tzinfo=_dates.get_timezone(tz) if isinstance(tz, str) else tz,
                                  locale=_babel_locale(locale))


def format_date(value: date | None, locale: str, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return _dates.format_date(value, format=fmt, locale=_babel_locale(locale))
