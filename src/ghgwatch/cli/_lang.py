"""Help texts of the command line in the chosen language.

Typer evaluates ``help=`` and docstrings when the modules are imported, before ``--lang`` is known, so the
help texts stay English in the source (they are the ``msgid``s of the ``cli`` catalog) and are translated at
run time instead: the root group (:class:`LocalisedGroup`) reads ``--lang`` (else ``$LANG``) from the
arguments before Click parses them, chooses the language, and rewrites the help of every command, group,
option and argument of the freshly built Click tree, plus Typer's own panel titles ("Options", "Commands", ...).
So ``ghgwatch --lang ru inventory run --help`` and ``LANG=ru_RU.UTF-8 ghgwatch --help`` are Russian.

:func:`texts_to_translate` lists every such text; a test requires a Russian entry for each of them. "Usage:" and
Click's own parser errors ("No such option", "Missing argument", "Invalid value for ...") follow the language too:
see :mod:`ghgwatch.cli._errors` (Typer's copy of Click writes them as English f-strings, translated on their way
out of the root group).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from typer import rich_utils
from typer.core import TyperGroup

from ghgwatch import i18n
from ghgwatch.cli import _errors
from ghgwatch.cli._runtime import set_locale

# Typer's own texts in its help and error panels (module constants of typer.rich_utils), as shipped in English.
TYPER_TEXTS: dict[str, str] = {
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "REQUIRED_LONG_STRING": "[required]",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "DEPRECATED_STRING": "(deprecated) ",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def lang_from_args(args: Sequence[str]) -> str:
    """``--lang X`` or ``--lang=X`` among the root options (before the command name), else ``$LANG``."""
    items = list(args)
    for i, item in enumerate(items):
        if item == "--lang" and i + 1 < len(items):
            return i18n.normalise_locale(items[i + 1])
        if item.startswith("--lang="):
            return i18n.normalise_locale(item.partition("=")[2])
        if not item.startswith("-"):
            break
    return i18n.normalise_locale(os.environ.get("LANG"))


# Typer ships its own copy of Click (typer._click): commands are handled by their attributes, not their classes.
Command = Any


def walk(command: Command) -> Iterator[Command]:
    yield command
    if hasattr(command, "commands"):  # a group
        for sub in command.commands.values():
            yield from walk(sub)


def help_texts(command: Command) -> set[str]:
    """Every help text of a command tree (commands, groups, options, arguments): the strings to translate."""
    found: set[str] = set()
    for cmd in walk(command):
        found |= {text for text in (cmd.help, cmd.short_help, cmd.epilog) if text}
        found |= {text for p in cmd.params if (text := getattr(p, "help", None))}
    return found


def localise(command: Command, language: str) -> None:
    """Translate the help texts of a command tree in place (English msgids → the ``cli`` catalog)."""
    t = i18n.translator(language, "cli")
    _errors.route_typer_gettext()
    for cmd in walk(command):
        cmd.context_class = _errors.LocalisedContext  # "Usage:" in the language
        for attribute in ("help", "short_help", "epilog"):
            if text := getattr(cmd, attribute):
                setattr(cmd, attribute, t.gettext(text))
        for param in [*cmd.params, _help_option(cmd)]:
            if text := getattr(param, "help", None):
                param.help = t.gettext(text)
    for name, english in TYPER_TEXTS.items():
        setattr(rich_utils, name, t.gettext(english))


HELP_OPTION_TEXT = "Show this message and exit."


def _help_option(command: Command) -> Any:
    """The ``--help`` option Click adds to a command when it parses (made and cached now, so that its text
    can be translated too); None if this version of Typer makes it differently."""
    try:
        return command.get_help_option(SimpleNamespace(help_option_names=["--help"]))
    except (AttributeError, TypeError):  # pragma: no cover - a Typer/Click without the cached help option
        return None


class LocalisedGroup(TyperGroup):
    """The root ``ghgwatch`` group: chooses the language before any parsing, so even ``--help`` follows it."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any | None = None,
                     **extra: Any) -> Any:
        language = lang_from_args(args)
        set_locale(language)
        localise(self, language)
        with _errors.translated_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _errors.translated_errors():  # the subcommands' parsing happens in here
            return super().invoke(ctx)


def texts_to_translate(command: Command) -> set[str]:
    """Every text this module translates for a command tree: its help texts, Typer's panel texts and the
    ``--help`` option's text, and Click's and Typer's own messages (a test requires a Russian catalog entry for
    each)."""
    return help_texts(command) | set(TYPER_TEXTS.values()) | {HELP_OPTION_TEXT} | _errors.texts()
