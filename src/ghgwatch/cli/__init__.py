"""The ``ghgwatch`` command line.

Each command group lives in its own module with a ``register(app)`` function. Modules import heavy
libraries (pandas, scikit-learn, matplotlib, ...) inside the command functions so that ``ghgwatch --help``
stays fast.
"""

from __future__ import annotations

import importlib

import typer

from ghgwatch.cli._lang import LocalisedGroup

app = typer.Typer(
    name="ghgwatch",
    cls=LocalisedGroup,
    help="Greenhouse-gas monitoring, inventory, forecasting and reporting.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "server",
    "admin",
    "data",
    "calc",
    "detect",
    "analytics",
    "analytics_db",
    "report",
    "simulate",
    "inventory",
    "backup",
    "edge",
    "uav",
    "lab",
    "reference",
)



@app.callback()
def _options(lang: str | None = typer.Option(
        None, "--lang", help="Language of messages: en or ru (default: from $LANG).")) -> None:
    import os

    from ghgwatch.cli._runtime import set_locale

    set_locale(lang or os.environ.get("LANG"))


for _name in _COMMAND_MODULES:
    importlib.import_module(f"ghgwatch.cli.{_name}").register(app)


def main() -> None:
    app()
