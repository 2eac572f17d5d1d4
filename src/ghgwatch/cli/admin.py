"""``ghgwatch org|user|device``: administration from the command line (audited as actor ``cli``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ghgwatch.cli._runtime import DataDir, _, console, database, run, settings_for
from ghgwatch.ingest.mqtt.accounts import account_name, readings_topic
from ghgwatch.security.models import Role
from ghgwatch.security.principal import Principal

org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
device_app = typer.Typer(help="Ingest devices and their tokens.", no_args_is_help=True)


def cli_actor() -> Principal:
    import getpass

    return Principal(user_id=0, username=f"cli:{getpass.getuser()}", role=Role.ADMIN, organization_id=None)


@org_app.command("create")
def org_create(name: str, inn: str | None = None, data_dir: Path | None = DataDir) -> None:
    """Create an organisation and print its id."""
    from ghgwatch.registry import service
    from ghgwatch.registry.schemas import OrganizationIn
    from ghgwatch.registry.specs import ORGANIZATIONS

    async def go() -> int:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            row = await service.create(s, cli_actor(), ORGANIZATIONS, OrganizationIn(name=name, inn=inn))
            return int(row.id)  # type: ignore[attr-defined]

    typer.echo(json.dumps({"id": run(go()), "name": name}))


@user_app.command("create")
def user_create(
    username: str,
    role: Role = typer.Option(Role.ENGINEER),
    organization: int | None = typer.Option(None, "--organization", help="Organisation id (none: platform admin)"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="GHGWATCH_NEW_PASSWORD"),
    data_dir: Path | None = DataDir,
) -> None:
    """Create a user (the password is asked for, or read from $GHGWATCH_NEW_PASSWORD)."""
    from ghgwatch.security import service

    async def go() -> int:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            user = await service.create_user(s, cli_actor(), username=username, password=password, role=role,
                                             organization_id=organization)
            return user.id

    typer.echo(json.dumps({"id": run(go()), "username": username, "role": role.value}))


@device_app.command("create")
def device_create(
    name: str,
    organization: int = typer.Option(..., "--organization", help="Organisation id"),
    require_signature: bool = typer.Option(False, help="Refuse unsigned requests from this device"),
    gateway: bool = typer.Option(False, "--gateway", help="An edge gateway (ghgwatch edge, docs/edge.md)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (holds the token)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Create a device; its token and HMAC secret are printed once."""
    from ghgwatch.security import service

    async def go() -> dict[str, object]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            issued = await service.create_device(s, cli_actor(), organization_id=organization, name=name,
                                                 require_signature=require_signature, gateway=gateway)
            device_id = issued.device.id
            return {"id": device_id, "name": name, "organization_id": organization,
                    "token": issued.token, "hmac_secret": issued.device.hmac_secret,
                    "require_signature": require_signature, "gateway": gateway,
                    "mqtt_username": account_name(organization, device_id),
                    "mqtt_topic": readings_topic(organization, device_id)}

    out = run(go())
    if as_json:
        typer.echo(json.dumps(out))
    else:
        console.print(_("device {id} created. Token (shown once): {token}", id=out["id"],
                        token=f"[bold]{out['token']}[/bold]"))
        console.print(_("HMAC secret: {secret}", secret=out["hmac_secret"]))
        console.print(_("MQTT username: {username} (password: the token)", username=out["mqtt_username"]))
        console.print(_("MQTT topic: {topic}", topic=out["mqtt_topic"]))


@device_app.command("list")
def device_list(
    organization: int | None = typer.Option(None, "--organization"),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Path | None = DataDir,
) -> None:
    """List devices (tokens are never shown again)."""
    from ghgwatch.security import service

    async def go() -> list[dict[str, object]]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return [{"id": d.id, "name": d.name, "organization_id": d.organization_id,
                     "require_signature": d.require_signature, "created_at": d.created_at.isoformat(),
                     "revoked_at": d.revoked_at.isoformat() if d.revoked_at else None,
                     "mqtt_username": account_name(d.organization_id, d.id),
                     "mqtt_topic": readings_topic(d.organization_id, d.id)}
                    for d in await service.list_devices(s, cli_actor(), organization)]

    rows = run(go())
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(_("id"), _("name"), _("organisation"), _("MQTT username"), _("signed"), _("created"),
                  _("revoked"))
    for r in rows:
        table.add_row(*(str(r[k] if r[k] is not None else "") for k in
                        ("id", "name", "organization_id", "mqtt_username", "require_signature", "created_at",
                         "revoked_at")))
    console.print(table)


@device_app.command("revoke")
def device_revoke(device_id: int, data_dir: Path | None = DataDir) -> None:
    """Revoke a device: its token stops working at once."""
    from ghgwatch.security import service

    async def go() -> str:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            device = await service.revoke_device(s, cli_actor(), device_id)
            return device.revoked_at.isoformat() if device.revoked_at else ""

    typer.echo(json.dumps({"id": device_id, "revoked_at": run(go())}))


def register(app: typer.Typer) -> None:
    app.add_typer(org_app, name="org")
    app.add_typer(user_app, name="user")
    app.add_typer(device_app, name="device")
