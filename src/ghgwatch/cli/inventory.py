"""``ghgwatch factors list|export|import``, ``ghgwatch import activity``, ``ghgwatch inventory run|forecast``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ghgwatch.cli._runtime import (
    DataDir,
    _,
    database,
    fail,
    finish_import,
    ngettext,
    run,
    settings_for,
    validation_message,
)
from ghgwatch.cli.admin import cli_actor

factors_app = typer.Typer(help="Factor sets: built-in (ipcc2006, ru371, kuzbass) and user-defined.",
                          no_args_is_help=True)
inventory_app = typer.Typer(help="Inventory runs on the platform database.", no_args_is_help=True)


@factors_app.command("list")
def factors_list(data_dir: Path | None = DataDir) -> None:
    """Built-in and stored factor sets with their versions (stored ones as name@version)."""
    from ghgwatch.inventory import builtin_factor_set_names, factor_store, load_builtin_factor_set

    for name in builtin_factor_set_names():
        fs = load_builtin_factor_set(name)
        typer.echo(f"{name}\t{fs.version}\t{_('built-in')}\t"
                   + ngettext("{n} factor", "{n} factors", len(fs.factors)))

    async def go() -> list[tuple[str, str, int | None, int]]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            rows = await factor_store.list_sets(s, cli_actor())
            return [(r.name, r.version, r.organization_id, len(r.values.get("factors", []))) for r in rows]

    for name, version, org, count in run(go()):
        scope = _("shared") if org is None else _("organisation {id}", id=org)
        typer.echo(f"{name}@{version}\t{version}\t{scope}\t" + ngettext("{n} factor", "{n} factors", count))


@factors_app.command("export")
def factors_export(
    name: str = typer.Argument(..., help="A built-in set name, or a stored set as name@version"),
    output: Path | None = typer.Option(None, "--output", "-o", help="JSON file (default: stdout)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Write a factor set as JSON in the factor-set schema (importable again)."""
    from importlib import resources

    from ghgwatch.inventory import builtin_factor_set_names, factor_store

    if name in builtin_factor_set_names():
        data: object = json.loads(resources.files("ghgwatch.inventory").joinpath("data", f"{name}.json")
                                  .read_text("utf-8"))
    elif "@" in name:
        async def go() -> dict[str, object]:
            async with database(settings_for(data_dir)) as db, db.transaction() as s:
                return await factor_store.resolve(s, cli_actor(), [name])

        data = run(go())[name]
    else:
        fail(_("unknown factor set {name}: give a built-in name or name@version", name=repr(name)))
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")


@factors_app.command("import")
def factors_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Factor set JSON (name, version, factors)"),
    organization: int | None = typer.Option(None, "--organization", help="Owner (default: shared by everyone)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Store a user-defined factor set; runs use it as name@version."""
    from ghgwatch.inventory import factor_store
    from ghgwatch.inventory.schemas import FactorSetIn

    try:
        raw = json.loads(file.read_text("utf-8"))
        body = FactorSetIn(organization_id=organization, name=raw.get("name", ""), version=raw.get("version", ""),
                           description=raw.get("description") or None, values=raw)
    except (OSError, ValueError, AttributeError) as exc:
        fail(f"{file}: {exc}")

    async def go() -> int:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return (await factor_store.create(s, cli_actor(), body)).id

    typer.echo(json.dumps({"id": run(go()), "name": body.name, "version": body.version}))


def import_activity(
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    organization: int = typer.Option(..., "--organization", help="Every row's facility must belong to it"),
    mode: str = typer.Option("partial", help="partial: keep good rows; atomic: nothing written if a row is bad"),
    data_dir: Path | None = DataDir,
) -> None:
    """Import activity data from CSV or XLSX (header = row 1). Exits 1 if any row was rejected."""
    from ghgwatch.inventory import activity_import
    from ghgwatch.registry import tabular

    try:
        import_mode = tabular.ImportMode(mode)
    except ValueError:
        fail(_("--mode must be partial or atomic"))
    fmt = tabular.TableFormat.XLSX if file.suffix.lower() == ".xlsx" else tabular.TableFormat.CSV

    from ghgwatch.kit.problems import Problem

    try:
        rows = tabular.read_table(file.read_bytes(), fmt)
    except Problem as exc:
        fail(exc.detail)

    async def go() -> tabular.ImportReport:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await activity_import.import_rows(s, cli_actor(), rows, import_mode, organization_id=organization)

    finish_import(run(go()), file)


@inventory_app.command("run")
def inventory_run(
    organization: int = typer.Option(..., "--organization"),
    year: int = typer.Option(..., "--year"),
    methodology: str = typer.Option("ipcc2006", "--methodology"),
    gwp: str | None = typer.Option(None, "--gwp"),
    factor_set: list[str] = typer.Option([], "--factor-set", help="Built-in name or name@version; repeatable"),
    include_measured: bool = typer.Option(False, "--include-measured/--no-measured"),
    gap_policy: str = typer.Option("mean", "--gap-policy", help="Gaps inside telemetry: mean, interpolate, omit"),
    measured_policy: str = typer.Option("complement", "--measured-policy",
                                        help="Coverage below --min-coverage: complement (Tier 1 for the rest) "
                                             "or refuse"),
    min_coverage: float = typer.Option(0.8, "--min-coverage", help="Minimum telemetry coverage, 0..1"),
    data_dir: Path | None = DataDir,
) -> None:
    """Calculate and store an inventory run from the stored activity data; prints the run summary."""
    from pydantic import ValidationError

    from ghgwatch.inventory import runs
    from ghgwatch.inventory.schemas import RunIn

    try:
        body = RunIn(organization_id=organization, year=year, methodology=methodology,
                     gwp=gwp, factor_sets=factor_set, include_measured=include_measured,
                     gap_policy=gap_policy, measured_policy=measured_policy,
                     min_coverage=min_coverage)
    except ValidationError as exc:
        fail(validation_message(exc))

    async def go() -> dict[str, object]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            r = await runs.create_run(s, cli_actor(), body)
            dq = r.result.get("data_quality", {})
            return {"id": r.id, "inputs_sha256": r.inputs_sha256, "total_co2e_t": r.total_co2e_t,
                    "fz296_total_co2e_t": r.result.get("fz296", {}).get("total_co2e_t"),
                    "regulated_296fz": r.regulated_296fz, "code_version": r.code_version,
                    # What was counted, printed with every run (issue 13 item 10), not only in the stored JSON.
                    "counted_period": dq.get("counted_period"), "future_excluded": dq.get("future_excluded"),
                    "activity_rows": dq.get("activity_rows"), "pro_rated_rows": len(dq.get("pro_rated", [])),
                    "no_activity_data": dq.get("no_activity_data"),
                    "measured": [{k: f[k] for k in ("facility", "data_fraction", "treatment")}
                                 for f in dq.get("facilities", [])],
                    "gap_policy": dq.get("gap_policy"), "measured_policy": dq.get("measured_policy"),
                    "min_coverage": dq.get("min_coverage")}

    typer.echo(json.dumps(run(go())))


@inventory_app.command("forecast")
def inventory_forecast(
    organization: int = typer.Option(..., "--organization"),
    history_months: int = typer.Option(24, "--history-months", help="Complete months of history (at least 6)"),
    horizon_months: int = typer.Option(60, "--horizon-months", help="Months ahead, from the current month"),
    method: str = typer.Option("trend", "--method", help="trend (OLS line), linear or gbdt (analytics models)"),
    interval: float = typer.Option(0.9, "--interval", help="Prediction interval level, 0..1"),
    methodology: str = typer.Option("ipcc2006", "--methodology"),
    include_measured: bool = typer.Option(True, "--include-measured/--no-measured"),
    coal_mining_tier: str = typer.Option("tier1", "--coal-mining-tier", help="tier1 or tier2 (reference database)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="JSON file (default: stdout)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Forecast monthly and annual emissions (296-FZ basis) and the year the threshold would be crossed."""
    from ghgwatch.inventory import forecast

    choices = {"--method": (method, ("trend", "linear", "gbdt")),
               "--methodology": (methodology, ("ipcc2006", "ru371")),
               "--coal-mining-tier": (coal_mining_tier, ("tier1", "tier2"))}
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            fail(_("{option} {value}: choose one of {choices}", option=option, value=repr(value),
                   choices=", ".join(allowed)))
    if not 0 < interval < 1:
        fail(_("--interval {value}: give a level between 0 and 1, e.g. 0.9", value=interval))
    if horizon_months < 1:
        fail(_("--horizon-months {value}: at least 1", value=horizon_months))

    async def go() -> dict[str, object]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await forecast.forecast(
                s, cli_actor(), organization, history_months=history_months, horizon_months=horizon_months,
                method=method, interval=interval, methodology=methodology,  # type: ignore[arg-type]
                include_measured=include_measured, coal_mining_tier=coal_mining_tier)  # type: ignore[arg-type]

    result = run(go())
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")
        crossing = result["threshold_crossing"]
        typer.echo(json.dumps({"output": str(output), "threshold_crossing": crossing}))


def register(app: typer.Typer) -> None:
    from ghgwatch.cli.data import import_app

    import_app.command("activity")(import_activity)
    app.add_typer(factors_app, name="factors")
    app.add_typer(inventory_app, name="inventory")
