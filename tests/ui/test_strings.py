"""Every text a page script shows is sent to it translated (and so is checked by the catalog test)."""

from __future__ import annotations

import re
from pathlib import Path

from ghgwatch import ui
from ghgwatch.i18n import translator
from ghgwatch.ui._strings import JS_TEXTS, js_strings

SCRIPTS = Path(ui.__file__).parent / "static" / "js"
CALL = re.compile(r'\bt\("((?:[^"\\]|\\.)*)"')


def test_every_script_text_is_in_the_translated_set() -> None:
    used = {text for path in SCRIPTS.glob("*.js") for text in CALL.findall(path.read_text(encoding="utf-8"))}
    assert used, "no t(...) calls found: the pattern is out of date"
    assert not used - set(JS_TEXTS), f"add these to ui/_strings.py JS_TEXTS: {sorted(used - set(JS_TEXTS))}"


def test_script_texts_are_sent_in_russian() -> None:
    texts = js_strings(translator("ru", "ui"))
    assert texts["Acknowledge"] == "Квитировать" and texts["alarm"] == "тревога"
    assert js_strings(translator("en", "ui"))["alarm"] == "alarm"
