"""The command line speaks Russian under ``--lang ru`` (or ``LANG=ru_...``): messages, table headers, errors,
help texts, with numbers in the Russian format (Babel/CLDR: no-break space groups, decimal comma).

Also guards the source: every help text of the command tree has a Russian catalog entry, and no message
literal of ``ghgwatch/cli`` reaches the screen without going through gettext.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import typer.main
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from ghgwatch import i18n
from ghgwatch.cli import app
from ghgwatch.cli._lang import texts_to_translate

CLI_SRC = Path(i18n.__file__).resolve().parents[1] / "cli"
CALC_INPUT = Path(__file__).parents[1] / "fixtures" / "inventory" / "calc-input.json"
runner = CliRunner()
CYRILLIC = re.compile("[а-яё]{3,}", re.IGNORECASE)


def _russian_ids() -> set[str]:
    with (i18n.CATALOG_DIR / "ru" / "LC_MESSAGES" / "cli.po").open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id and m.string}


def test_every_help_text_of_the_command_tree_has_a_russian_translation() -> None:
    texts = texts_to_translate(typer.main.get_command(app))
    assert len(texts) > 200  # the whole tree was walked (docstrings, options, arguments, groups)
    missing = sorted(texts - _russian_ids())
    assert not missing, "help texts without a Russian translation:\n" + "\n".join(map(repr, missing))


# Calls that put text on the screen, and their keywords that carry text.
# (progress_bar's label is the command's own name, e.g. "gaps fill", and stays as typed.)
SINKS = {"echo", "print", "fail", "_fail", "Table", "add_column", "add_row", "add_task", "update", "step"}
TEXT_KEYWORDS = {"title", "description"}
MARKUP = re.compile(r"\[/?[a-z ]*\]|--[a-z-]+")  # rich markup and option names are not words to translate
WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")  # a word with a lowercase letter ("MAE", "CSV" are names)


def _literal_text(node: ast.AST) -> list[str]:
    """Literal text of an expression outside gettext calls (constants, f-string parts, concatenations)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) + _literal_text(node.orelse)
    return []


def untranslated_literals(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in SINKS:
            continue
        args = [*node.args, *(k.value for k in node.keywords if k.arg in TEXT_KEYWORDS)]
        found += [f"{filename}:{node.lineno}: {text!r}" for arg in args for text in _literal_text(arg)
                  if WORD.search(MARKUP.sub("", text))]
    return found


def test_cli_messages_go_through_gettext() -> None:
    problems = []
    for path in sorted(CLI_SRC.glob("*.py")):
        problems += untranslated_literals(path.read_text("utf-8"), path.name)
    assert not problems, "messages printed without gettext (wrap them in _()):\n" + "\n".join(problems)


def test_the_source_check_finds_an_unmarked_message() -> None:
    bad = 'typer.echo(f"{n} rows written")\nfail("no such table")\nconsole.print("[red]broken[/red]")\n'
    good = 'typer.echo(_("{n} rows written", n=n))\nfail(_("no such table"))\nconsole.print(f"| {a} | {b} |")\n'
    assert len(untranslated_literals(bad, "bad.py")) == 3
    assert untranslated_literals(good, "good.py") == []


def test_calc_table_in_russian_with_russian_numbers() -> None:
    russian = runner.invoke(app, ["--lang", "ru", "calc", "--input", str(CALC_INPUT), "--format", "table"],
                            terminal_width=200)
    assert russian.exit_code == 0, russian.output
    out = russian.stdout
    assert "CO2-экв., т" in out and "итого" in out and "sha256 входных данных:" in out
    assert "24\xa0120,0" in out  # a1: 24,120 t CH4, Russian grouping (no-break space) and decimal comma
    assert "т CO2-экв." in out and "2026-07-01" in out  # the 296-FZ verdict, in Russian
    english = runner.invoke(app, ["--lang", "en", "calc", "--input", str(CALC_INPUT), "--format", "table"],
                            terminal_width=200)
    assert "CO2e, t" in english.stdout and "24,120.0" in english.stdout and "total" in english.stdout
    assert not CYRILLIC.search(english.stdout)


def test_errors_in_russian() -> None:
    missing = runner.invoke(app, ["--lang", "ru", "report", "build", "--output", "x.pdf"])
    assert missing.exit_code == 2 and "ошибка: укажите ровно одно из --input и --run" in missing.stderr
    bad_month = runner.invoke(app, ["--lang", "ru", "report", "methane-safety", "-i", "r.csv", "-o", "x.pdf",
                                    "--month", "2026-13"])
    assert bad_month.exit_code == 2 and "--month должен быть в виде ГГГГ-ММ" in bad_month.stderr
    detect = runner.invoke(app, ["--lang", "ru", "detect", "-i", "nowhere.csv", "-o", "out.csv",
                                 "--threshold", "-1"])
    assert detect.exit_code == 2 and detect.stderr.startswith("Ошибка: --threshold")


def test_uav_flight_in_russian_with_decimal_commas(tmp_path: Path) -> None:
    flight, out = tmp_path / "flight.csv", tmp_path / "leak.json"
    simulated = runner.invoke(app, ["--lang", "ru", "uav", "simulate", "-o", str(flight), "--rate", "12.5"])
    assert simulated.exit_code == 0 and "отсчётов ->" in simulated.stdout, simulated.output
    quantified = runner.invoke(app, ["--lang", "ru", "uav", "quantify", "-i", str(flight), "-o", str(out)])
    assert quantified.exit_code == 0, quantified.output
    result = json.loads(out.read_text("utf-8"))
    shown = re.match(r"([\d,]+) кг/ч \(95 % интервал ([\d,]+)-([\d,]+)\) -> ", quantified.stdout)
    assert shown, quantified.stdout
    numbers = shown.groups()
    assert any("," in n for n in numbers)  # e.g. "9,87": the decimal comma of Russian (and no decimal point)
    for text, key in zip(numbers, ("rate_kg_h", "lower_kg_h", "upper_kg_h"), strict=True):
        assert float(text.replace(",", ".")) == float(f"{result[key]:.3g}")


def flat(text: str) -> str:
    """Help output without its box drawing and line wrapping, so that phrases can be looked for."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def test_help_in_russian_from_the_option_and_from_lang() -> None:
    russian = runner.invoke(app, ["--lang", "ru", "inventory", "run", "--help"])
    assert russian.exit_code == 0
    shown = flat(russian.stdout)
    assert "Рассчитать и сохранить расчёт инвентаризации" in shown  # the command's docstring
    assert "Пропуски внутри телеметрии" in shown  # an option's help
    assert "Параметры" in shown and "Показать эту справку и выйти." in shown  # Typer's own texts
    from_env = runner.invoke(app, ["--help"], env={"LANG": "ru_RU.UTF-8"})
    assert "Мониторинг, инвентаризация, прогнозирование" in flat(from_env.stdout)
    assert "Команды" in flat(from_env.stdout) and "Полёты БПЛА" in flat(from_env.stdout)  # a group's help in the list
    english = runner.invoke(app, ["inventory", "run", "--help"], env={"LANG": "C.UTF-8"})
    assert "Calculate and store an inventory run" in flat(english.stdout) and "Options" in flat(english.stdout)
    assert not CYRILLIC.search(flat(english.stdout))  # Russian does not stick after a Russian run


def test_reference_evaluation_table_in_russian() -> None:
    result = runner.invoke(app, ["--lang", "ru", "reference", "evaluate", "--synthetic", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    assert "СИНТЕТИЧЕСКАЯ панель" in result.stdout and "| метод | средняя ошибка, % | СКО, % |" in result.stdout
    rows = re.findall(r"^\| (\w+) \| (\S+) \| (\S+) \|$", result.stdout, re.MULTILINE)
    assert {r[0] for r in rows} >= {"mean", "knn"}
    assert all(re.fullmatch(r"\d+,\d\d", v) for r in rows for v in r[1:])  # decimal comma, two decimals


# Click's parser errors under --lang ru: (arguments, the Russian message, the English one Click writes).
PARSER_ERRORS = [
    (["inventory", "run", "--bogus"], "Нет такого параметра: --bogus", "No such option: --bogus"),
    (["inventory", "run", "--organisation", "1"], "(возможно, имелось в виду: --organization)",
     "(Possible options: --organization)"),
    (["report", "build"], "Не указан параметр '--output' / '-o'.", "Missing option '--output' / '-o'."),
    (["backup"], "Не указан аргумент 'target'.", "Missing argument 'target'."),
    (["calc", "--input", "a.json", "b", "c"], "Лишние аргументы (b c)", "Got unexpected extra argument(s) (b c)"),
    (["detect", "-i", "x.csv", "-o", "y.csv", "--threshold", "abc"],
     "Неверное значение '--threshold': Нужно число: строку не удалось прочитать как число",
     "Invalid value for '--threshold': Input should be a valid number, unable to parse string as a number"),
    (["restore", "/nowhere/at/all"], "Неверное значение 'source': каталог '/nowhere/at/all' не существует.",
     "Invalid value for 'source': dir '/nowhere/at/all' does not exist."),
    (["repotr"], "Нет такой команды 'repotr'. Возможно, имелось в виду 'report'",
     "No such command 'repotr'. Did you mean 'report'"),
]


def test_click_parser_errors_in_russian() -> None:
    for args, russian, english in PARSER_ERRORS:
        ru = runner.invoke(app, ["--lang", "ru", *args], terminal_width=300)
        shown = flat(ru.stderr)
        assert ru.exit_code == 2, (args, ru.output)
        assert russian in shown, (args, shown)
        assert "Использование: " in shown and "для справки" in shown and "Usage" not in shown
        en = runner.invoke(app, ["--lang", "en", *args], terminal_width=300)
        assert english in flat(en.stderr) and "Usage: " in flat(en.stderr), (args, en.stderr)
        assert not CYRILLIC.search(en.stderr)


def test_click_parser_errors_follow_lang_from_the_environment() -> None:
    result = runner.invoke(app, ["report", "build"], env={"LANG": "ru_RU.UTF-8"}, terminal_width=300)
    assert result.exit_code == 2 and "Не указан параметр '--output' / '-o'." in flat(result.stderr)
    assert "Использование: " in flat(result.stderr)


def test_every_click_text_has_a_russian_translation() -> None:
    from ghgwatch.cli import _errors

    assert {"Usage:", "No such option: {name}", "Missing argument {hint}.", "Invalid value for {hint}: {message}",
            "Got unexpected extra argument(s) ({args})"} <= _errors.texts()
    assert _errors.texts() <= texts_to_translate(typer.main.get_command(app))  # checked by the test above


def test_click_templates_translate_what_they_match_and_nothing_else() -> None:
    from ghgwatch.cli import _errors
    from ghgwatch.cli._runtime import set_locale

    set_locale("ru")
    try:
        assert _errors.from_template("file 'a.csv' is a directory.") == "файл 'a.csv' — это каталог."
        assert _errors.from_template("Option '--n' requires 2 arguments.") == "Параметру '--n' нужно значений: 2."
        assert _errors.from_template("something Click never says") == "something Click never says"
    finally:
        set_locale("en")
