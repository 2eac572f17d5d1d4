"""Click's own texts in the chosen language: "Usage:", and the parser's errors ("No such option", "Missing
argument", "Invalid value for ...", "Got unexpected extra argument(s)" ...).

Typer ships its own copy of Click (``typer._click``) whose messages are English f-strings, not gettext calls, so
they are translated where they are shown instead: the root group (``_lang.LocalisedGroup``) catches a Click
error on its way out (:func:`translated_errors`) and raises it again with its text in the chosen language, rebuilt
from the exception's fields (the option's name, the parameter's hint, the pydantic error behind an invalid value)
or, for a plain message, from the English template it was made from (:data:`TEMPLATES`, the ``msgid``s of the
``cli`` catalog). Typer's own messages ("No such command", "Missing command.") are ``gettext`` calls of
``typer.core``; :func:`route_typer_gettext` points them at our catalog. "Usage:" comes from the help formatter
of the context each command makes (:class:`LocalisedContext`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import typer.core
from typer import _click

from ghgwatch.cli._runtime import locale, tr
from ghgwatch.i18n import DEFAULT_LOCALE, N_
from ghgwatch.i18n import validation as validation_messages

USAGE = N_("Usage:")
INVALID_VALUE_FOR = N_("Invalid value for {hint}: {message}")
INVALID_VALUE = N_("Invalid value: {message}")
MISSING = {"option": N_("Missing option {hint}."), "argument": N_("Missing argument {hint}."),
           "parameter": N_("Missing parameter {hint}.")}
MISSING_PLAIN = {"option": N_("Missing option."), "argument": N_("Missing argument."),
                 "parameter": N_("Missing parameter.")}
CHOOSE_FROM = N_("Choose from:")
NO_SUCH_OPTION = N_("No such option: {name}")
POSSIBLE_OPTIONS = N_("(Possible options: {options})")

TEMPLATES = (
    N_("Got unexpected extra argument(s) ({args})"),
    N_("Option {name} requires an argument."),
    N_("Option {name} requires {n} arguments."),
    N_("Option {name} does not take a value."),
    N_("Argument {name} takes {n} values."),
    N_("{value} is not one of {choices}."),
    N_("Value {value} is not a valid {type}."),
    N_("Value must be an iterable."),
    N_("{label} {path} does not exist."),
    N_("{label} {path} is a file."),
    N_("{label} {path} is a directory."),
    N_("{label} {path} is not readable."),
    N_("{label} {path} is not writable."),
    N_("Could not open file {name}: {reason}"),
    N_("{message}. Did you mean {suggestions}?"),
)
"""Click's and Typer's error messages made by f-strings, as templates: the English text is matched against them
and the captured parts put into the translation. ``label`` (file, dir, path) is translated as well."""

LABELS = (N_("file"), N_("dir"), N_("path"))

TYPER_GETTEXT = (
    N_("Missing command."), N_("No such command {name!r}."), N_("Aborted!"), N_("(dynamic)"),
    N_("default: {default}"), N_("required"), N_("env var: {var}"), N_("Arguments"), N_("Options"), N_("Commands"),
)
"""Texts ``typer.core`` passes to its ``gettext`` (routed to the ``cli`` catalog by :func:`route_typer_gettext`)."""


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)(?:![rs])?\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(regex + r"\Z", re.DOTALL)


def from_template(text: str) -> str:
    """``text`` (one of Click's English messages) in the chosen language, or unchanged if no template matches."""
    t = tr()
    for template in TEMPLATES:
        found = _pattern(template).match(text)
        if found is None:
            continue
        values = found.groupdict()
        if "label" in values:
            values["label"] = t.gettext(values["label"])
        if "message" in values:
            values["message"] = from_template(values["message"])
        return t.gettext(template).format(**values)
    return text


def _hint(exc: Any) -> str | None:
    hint = exc.param_hint if exc.param_hint is not None else (exc.param.get_error_hint() if exc.param else None)
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(x) for x in hint)
    return hint


def _invalid_value(exc: Any) -> str:
    """The reason of a BadParameter: pydantic's error behind it rebuilt from its type and ctx, else Click's text."""
    cause = exc.__cause__
    errors = cause.errors(include_url=False) if hasattr(cause, "errors") else []
    if errors and errors[0].get("type") == "value_error":
        own = from_template(str(errors[0].get("ctx", {}).get("error", "")))
        return own if own != str(errors[0].get("ctx", {}).get("error", "")) else \
            validation_messages.message(errors[0], locale())
    if errors:
        return validation_messages.message(errors[0], locale())
    return from_template(exc.message)


def _missing(exc: Any) -> str:
    t = tr()
    kind = exc.param_type or (exc.param.param_type_name if exc.param is not None else "parameter")
    hint = _hint(exc)
    text = t.gettext(MISSING[kind], hint=hint) if hint and kind in MISSING else \
        t.gettext(MISSING_PLAIN.get(kind, MISSING_PLAIN["parameter"]))
    extra = exc.param.get_missing_message(ctx=exc.ctx) if exc.param is not None else None
    if extra and extra.startswith("Choose from:"):
        extra = t.gettext(CHOOSE_FROM) + extra.removeprefix("Choose from:")
    reason = ". ".join(part for part in (exc.message, extra) if part)
    return f"{text} {reason}" if reason else text


def message(exc: Any) -> str:
    """The text of a Click error in the chosen language."""
    t = tr()
    if isinstance(exc, _click.exceptions.MissingParameter):
        return _missing(exc)
    if isinstance(exc, _click.exceptions.BadParameter):
        hint = _hint(exc)
        reason = _invalid_value(exc)
        return t.gettext(INVALID_VALUE_FOR, hint=hint, message=reason) if hint else \
            t.gettext(INVALID_VALUE, message=reason)
    if isinstance(exc, _click.exceptions.NoSuchOption) and exc.message == f"No such option: {exc.option_name}":
        text = t.gettext(NO_SUCH_OPTION, name=exc.option_name)
        if exc.possibilities:
            text += " " + t.gettext(POSSIBLE_OPTIONS, options=", ".join(sorted(exc.possibilities)))
        return text
    if isinstance(exc, _click.exceptions.FileError):
        return from_template(f"Could not open file {exc.ui_filename!r}: {exc.message}")
    return from_template(exc.format_message())


@contextmanager
def translated_errors() -> Iterator[None]:
    """Click errors raised inside come out with their text in the chosen language (English: untouched)."""
    try:
        yield
    except _click.exceptions.NoArgsIsHelpError:
        raise  # it carries the (already translated) help page, not a message
    except _click.exceptions.ClickException as exc:
        if locale() == DEFAULT_LOCALE:
            raise
        text = message(exc)
        if isinstance(exc, _click.exceptions.UsageError):
            raise _click.exceptions.UsageError(text, exc.ctx) from exc
        other = _click.exceptions.ClickException(text)
        other.exit_code = exc.exit_code
        raise other from exc


class LocalisedFormatter(_click.HelpFormatter):
    """Writes "Usage:" in the chosen language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else tr().gettext(USAGE) + " ")


class LocalisedContext(_click.Context):
    formatter_class = LocalisedFormatter


def route_typer_gettext() -> None:
    """``typer.core`` calls ``gettext`` (imported as ``_``) for its own messages: send them to our catalog."""
    typer.core._ = _typer_gettext  # type: ignore[attr-defined]  # gettext imported as "_"


def _typer_gettext(message: str) -> str:
    return tr().gettext(message)


def texts() -> set[str]:
    """Every text this module translates (a test requires a Russian entry for each)."""
    return {USAGE, INVALID_VALUE_FOR, INVALID_VALUE, CHOOSE_FROM, NO_SUCH_OPTION, POSSIBLE_OPTIONS,
            *MISSING.values(), *MISSING_PLAIN.values(), *TEMPLATES, *LABELS, *TYPER_GETTEXT}
