"""Pydantic's validation messages in the reader's language (catalog domain ``validation``).

Pydantic writes its messages in English only. They are rebuilt here from the error's ``type`` and ``ctx`` (never
by reading the English text; English keeps pydantic's own message): ``{"type": "string_too_long", "ctx":
{"max_length": 200}}`` becomes "Строка должна быть не длиннее 200 символов" in Russian. The API's 422 answers
(``web/problems.py``) and the command line's "Invalid value for '--x': ..." (``cli/_errors.py``) use it. A type
not listed keeps pydantic's own message. ``tests/i18n/test_validation_messages.py`` requires a Russian entry for
every message here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghgwatch.i18n import DEFAULT_LOCALE, N_, Translator, translator
from ghgwatch.kit.problems import InvalidValue

DOMAIN = "validation"


MESSAGES: dict[str, str] = {
    "missing": N_("Field required"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_parsing_size": N_("Unable to parse input string as an integer, exceeded maximum size"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "finite_number": N_("Input should be a finite number"),
    "decimal_type": N_("Input should be a valid decimal"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "string_type": N_("Input should be a valid string"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime, {error}"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date, {error}"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, {error}"),
    "time_type": N_("Input should be a valid time"),
    "time_parsing": N_("Input should be in a valid time format, {error}"),
    "timezone_aware": N_("Input should have timezone info"),
    "timezone_naive": N_("Input should not have timezone info"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "json_invalid": N_("Invalid JSON: {error}"),
    "json_type": N_("JSON input should be string, bytes or bytearray"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or object"),
    "model_attributes_type": N_("Input should be a valid dictionary or object"),
    "list_type": N_("Input should be a valid list"),
    "uuid_type": N_("Input should be a valid UUID"),
    "uuid_parsing": N_("Input should be a valid UUID"),
    "url_type": N_("URL input should be a string or URL"),
    "url_parsing": N_("Input should be a valid URL, {error}"),
    "value_error": N_("Value error, {error}"),
    "assertion_error": N_("Assertion failed, {error}"),
}
"""English message of each pydantic error type, with pydantic's ``ctx`` keys as placeholders."""

COUNTED: dict[str, tuple[str, str, str]] = {
    "string_too_short": ("min_length", N_("String should have at least {n} character"),
                         N_("String should have at least {n} characters")),
    "string_too_long": ("max_length", N_("String should have at most {n} character"),
                        N_("String should have at most {n} characters")),
    "too_short": ("min_length", N_("Should have at least {n} item, not {actual_length}"),
                  N_("Should have at least {n} items, not {actual_length}")),
    "too_long": ("max_length", N_("Should have at most {n} item, not {actual_length}"),
                 N_("Should have at most {n} items, not {actual_length}")),
}
"""Messages with a count (Russian has three plural forms): ctx key of the count, singular, plural."""

PARSE_ERRORS = (
    N_("input is too short"), N_("input is too long"), N_("invalid character in year"),
    N_("invalid character in month"), N_("invalid character in day"), N_("invalid character in hour"),
    N_("invalid character in minute"), N_("invalid character in second"), N_("invalid date separator, expected `-`"),
    N_("invalid datetime separator, expected `T`, `t`, `_` or space"),
    N_("month value is outside expected range of 1-12"), N_("day value is outside expected range"),
    N_("hour value is outside expected range of 0-23"), N_("minute value is outside expected range of 0-59"),
    N_("second value is outside expected range of 0-59"), N_("unexpected extra characters at the end of the input"),
    N_("invalid timezone sign"), N_("timezone offset must be less than 24 hours"),
    N_("EOF while parsing a value"), N_("expected value"), N_("EOF while parsing an object"),
)
"""The ``ctx["error"]`` texts of date, time and JSON parsing errors (fixed strings of pydantic-core)."""

VALUE_ERRORS = (
    # inventory/schemas.py
    N_("period_end must not be before period_start"), N_("give facility_id or gem_mine_id"),
    N_("unknown GWP set {value}; known: {known}"), N_("give year, or period_start and period_end"),
    N_("period_end must be after period_start"),
    # registry/schemas.py
    N_("range_min must be below range_max"),
)
"""Our own validators' ``ValueError`` texts (``ctx["error"]`` of a ``value_error``): fixed texts looked up as
they are, an :class:`~ghgwatch.kit.problems.InvalidValue` by its template; any other text stays English."""

OR = N_("or")  # the last separator of an enum's or literal's ``expected`` ("'a', 'b' or 'c'")


def _value(key: str, value: Any, t: Translator) -> Any:
    if key == "error" and isinstance(value, InvalidValue):
        return t.gettext(value.template, **value.values)
    if key == "error" and isinstance(value, str | ValueError):
        return t.gettext(str(value))  # a parse error of pydantic-core or our own text; an unknown one stays
    if key == "expected" and isinstance(value, str) and " or " in value:
        head, _, last = value.rpartition(" or ")
        return f"{head} {t.gettext(OR)} {last}"
    return value


def message(error: Mapping[str, Any], locale: str) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as a message in ``locale``; in English,
    pydantic's own message (the English msgids here only name what is translated)."""
    t = translator(locale, DOMAIN)
    if t.locale == DEFAULT_LOCALE:
        return str(error.get("msg", ""))
    kind = str(error.get("type", ""))
    ctx = {key: _value(key, value, t) for key, value in (error.get("ctx") or {}).items()}
    try:
        if kind in COUNTED:
            key, singular, plural = COUNTED[kind]
            return t.ngettext(singular, plural, int(ctx[key]), **ctx)
        if kind in MESSAGES:
            return t.gettext(MESSAGES[kind], **{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError, TypeError):  # a ctx this version of pydantic shapes differently
        pass
    return str(error.get("msg", ""))


def texts() -> set[str]:
    """Every msgid of this module (a test requires a Russian entry for each; a counted message is one entry)."""
    return set(MESSAGES.values()) | {singular for _key, singular, _plural in COUNTED.values()} | \
        set(PARSE_ERRORS) | set(VALUE_ERRORS) | {OR}
