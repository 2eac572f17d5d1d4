"""Every string people read has its Russian translation, and catalogs are well-formed.

Strings are found the way Babel's ``pybabel extract`` finds them (calls of ``_``, ``gettext``, ``ngettext``,
``pgettext`` with literal arguments); the domain of a source file is its top-level package under ``ghgwatch``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ghgwatch import i18n

SRC = Path(i18n.__file__).resolve().parents[1]
METHOD_MAP = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _domain(filename: str) -> str:
    parts = Path(filename).parts
    return parts[0].removesuffix(".py") if parts else "ghgwatch"


def extracted() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for filename, _lineno, message, _comments, context in extract_from_dir(
            SRC, METHOD_MAP, keywords=KEYWORDS, comment_tags=()):
        if filename.startswith("i18n"):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[_domain(filename)].add(f"{context}\x04{msgid}" if context else msgid)
    return found


def catalogs() -> list[Path]:
    return sorted(i18n.CATALOG_DIR.glob("*/LC_MESSAGES/*.po"))


@pytest.mark.parametrize("path", catalogs(), ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_every_catalog_entry_is_translated(path: Path) -> None:
    with path.open("rb") as fh:
        catalog = read_po(fh)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[0]))
        if any(set(PLACEHOLDER.findall(s)) - (wanted | {"n"}) for s in strings):
            problems.append(f"placeholders differ: {ids[0]!r}")
    assert not problems, f"{path}: " + "; ".join(problems)


def test_every_extracted_string_has_a_russian_translation() -> None:
    missing = []
    for domain, messages in sorted(extracted().items()):
        path = i18n.CATALOG_DIR / "ru" / "LC_MESSAGES" / f"{domain}.po"
        known: set[str] = set()
        if path.exists():
            with path.open("rb") as fh:
                for m in read_po(fh):
                    mid = m.id[0] if isinstance(m.id, tuple) else m.id
                    known.add(f"{m.context}\x04{mid}" if m.context else mid)
        missing += [f"{domain}: {msg!r}" for msg in sorted(messages - known)]
    assert not missing, "strings without a Russian translation:\n" + "\n".join(missing)


def test_formats_follow_the_locale() -> None:
    assert i18n.format_number(97207.15297, "en", 1) == "97,207.2"
    assert i18n.format_number(97207.15297, "ru", 1) == "97\xa0207,2"
    assert i18n.format_number(2721800, "ru", 0) == "2\xa0721\xa0800"
    assert i18n.format_percent(0.263, "ru") == "26,3\xa0%"


def test_negotiation_and_lookup() -> None:
    assert i18n.negotiate("ru-RU,ru;q=0.9,en;q=0.5") == "ru"
    assert i18n.negotiate("de-DE, en;q=0.4") == "en"
    assert i18n.negotiate("en;q=0.2, ru;q=0.8") == "ru"
    assert i18n.normalise_locale("ru_RU.UTF-8") == "ru"
    assert i18n.translator("ru", "cli").gettext("error") == "ошибка"
    assert i18n.translator("en", "cli").gettext("error") == "error"


def test_data_file_texts_of_the_reports_are_translated() -> None:
    """GWP set descriptions and sources and methodology titles come from the data files in English; every one has
    its Russian text in the ``reports`` catalog (a new GWP set or methodology without it fails here)."""
    from ghgwatch.inventory.gwp import gwp_sets
    from ghgwatch.inventory.methodology import METHODOLOGIES
    from ghgwatch.reports.i18n import data_text

    texts = [m.title for m in METHODOLOGIES.values()]
    for gwp_set in gwp_sets().values():
        texts += [gwp_set.version, gwp_set.source]
    untranslated = [text for text in texts if data_text(text, "ru") == text]
    assert not untranslated, untranslated
    assert all(data_text(text, "en") == text for text in texts)


def test_source_category_names_are_translated() -> None:
    from ghgwatch.inventory.categories import CATEGORIES

    assert CATEGORIES["coal_mining_underground"].name("ru") == "Подземная добыча угля"
    assert all(c.name("ru") != c.en and c.name("en") == c.en for c in CATEGORIES.values())


def test_the_cli_messages_are_extracted_and_translated() -> None:
    """The command line's messages (``_()``/``ngettext`` of ``ghgwatch/cli``) are part of the check above, as the
    ``cli`` domain; its help texts are checked against the same catalog in ``test_cli_i18n.py``."""
    cli = extracted()["cli"]
    assert len(cli) > 100
    assert {"inputs sha256: {digest}", "audit log intact: {n} entries verified", "{n} checkpoint holds"} <= cli
    ru = i18n.translator("ru", "cli")
    assert ru.ngettext("{n} checkpoint holds", "{n} checkpoints hold", 3) == "3 контрольные точки сходятся"
    assert ru.ngettext("{n} checkpoint holds", "{n} checkpoints hold", 5) == "5 контрольных точек сходятся"
