"""Pydantic's messages in Russian, rebuilt from the error's type and ctx (domain ``validation``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import pytest
from babel.messages.pofile import read_po
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ghgwatch import i18n
from ghgwatch.i18n import validation


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=5)]
    count: Annotated[int, Field(ge=1, le=3)] = 1
    ratio: float = 0.5
    at: datetime | None = None
    kind: Literal["a", "b", "c"] = "a"


def _errors(**data: object) -> dict[str, dict[str, object]]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return {".".join(map(str, e["loc"])): dict(e) for e in caught.value.errors()}


def test_every_message_has_a_russian_translation() -> None:
    with (i18n.CATALOG_DIR / "ru" / "LC_MESSAGES" / "validation.po").open("rb") as fh:
        known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(fh) if m.id and m.string}
    assert not sorted(validation.texts() - known)


def test_common_messages_in_russian_by_type_and_ctx() -> None:
    errors = _errors(count="many", ratio="x", at="2026-13-01", kind="d", extra=1)
    ru = {loc: validation.message(e, "ru") for loc, e in errors.items()}
    assert ru["name"] == "Обязательное поле"
    assert ru["count"] == "Нужно целое число: строку не удалось прочитать как целое число"
    assert ru["ratio"] == "Нужно число: строку не удалось прочитать как число"
    assert ru["at"] == "Нужны дата и время или дата: месяц вне диапазона 1-12"
    assert ru["kind"] == "Допустимые значения: 'a', 'b' или 'c'"
    assert ru["extra"] == "Лишние поля не допускаются"
    too_long = _errors(name="abcdefg", count=9)
    assert validation.message(too_long["name"], "ru") == "Строка должна быть не длиннее 5 символов"
    assert validation.message(too_long["count"], "ru") == "Значение должно быть не больше 3"


def test_english_keeps_pydantics_text_and_unknown_types_stay_as_they_are() -> None:
    errors = _errors(name="abcdefg")
    assert validation.message(errors["name"], "en") == errors["name"]["msg"]
    odd = {"type": "some_future_type", "msg": "Something new", "ctx": {"x": 1}}
    assert validation.message(odd, "ru") == "Something new"
    one = {"type": "string_too_long", "msg": "", "ctx": {"max_length": 1}}
    assert validation.message(one, "ru") == "Строка должна быть не длиннее 1 символа"  # plural form


def test_our_own_value_errors_in_russian() -> None:
    from ghgwatch.inventory.schemas import RunIn

    with pytest.raises(ValidationError) as caught:
        RunIn.model_validate({"organization_id": 1, "gwp": "ar9"})
    gwp = caught.value.errors()[0]
    assert gwp["type"] == "value_error" and gwp["msg"].startswith("Value error, unknown GWP set 'ar9'; known: ")
    assert validation.message(gwp, "en") == gwp["msg"]
    assert validation.message(gwp, "ru").startswith("Недопустимое значение: неизвестный набор ПГП 'ar9'; известные: ")
    with pytest.raises(ValidationError) as caught:
        RunIn.model_validate({"organization_id": 1})
    assert validation.message(caught.value.errors()[0], "ru") == \
        "Недопустимое значение: укажите year или period_start и period_end"
