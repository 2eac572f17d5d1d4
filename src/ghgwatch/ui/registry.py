"""Registry: organisations, facilities, sources, sensors, devices and users as tables over the REST API.

The columns and form fields come from the API's own pydantic models, so the page follows the API.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from ghgwatch.registry.specs import ALL
from ghgwatch.security.endpoints import DeviceIn, DeviceOut, UserIn, UserOut
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.ui._strings import field_labels, label

router = APIRouter()
HIDDEN = frozenset({"attributes", "created_at", "updated_at", "hmac_secret"})


def _kind(annotation: Any) -> tuple[str, list[str] | None, bool]:
    """(input type, choices, optional) of a field's annotation."""
    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        optional = type(None) in args
        annotation = next(a for a in args if a is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "select", [str(m.value) for m in annotation], optional
    if annotation is bool:
        return "checkbox", None, optional
    if annotation in (int, float):
        return "number", None, optional
    if getattr(annotation, "__name__", "") == "date":
        return "date", None, optional
    return "text", None, optional


def _fields(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    out = []
    for name, info in model.model_fields.items():
        if name in HIDDEN or typing.get_origin(info.annotation) is dict or info.annotation is dict:
            continue
        kind, choices, optional = _kind(info.annotation)
        out.append({"name": name, "type": kind, "choices": choices, "required": info.is_required() and not optional})
    return out


def tables() -> list[dict[str, Any]]:
    out = [{"key": spec.path, "path": "/" + spec.path, "columns": [f["name"] for f in _fields(spec.read)],
            "create": _fields(spec.create), "patch": _fields(spec.patch), "sortable": True, "importable": True,
            "deletable": True} for spec in ALL]
    device_columns = [f["name"] for f in _fields(DeviceOut)] + list(DeviceOut.model_computed_fields)  # MQTT account
    out.append({"key": "devices", "path": "/devices", "columns": device_columns,
                "create": _fields(DeviceIn), "patch": [], "sortable": False, "importable": False,
                "deletable": False, "revocable": True})
    out.append({"key": "users", "path": "/users", "columns": [f["name"] for f in _fields(UserOut)],
                "create": _fields(UserIn), "patch": [], "sortable": False, "importable": False, "deletable": False})
    return out


@router.get("/registry")
async def registry(view: Annotated[View, Depends(signed_in)], table: str = "facilities") -> HTMLResponse:
    assert view.actor is not None
    all_tables = tables()
    if not view.is_admin and view.actor.role.value != "auditor":
        all_tables = [t for t in all_tables if t["key"] != "users"]
    chosen = next((t for t in all_tables if t["key"] == table), all_tables[1])
    data = {"table": chosen, "can_write": view.can_write and (chosen["key"] != "users" or view.is_admin),
            "organization_id": view.actor.organization_id, "labels": field_labels(view.t),
            "choices": {v: label(view.t, v) for t in all_tables for f in t["create"] for v in (f["choices"] or [])}}
    return render(view, "registry.html", view.t.gettext("Registry"), tables=all_tables, chosen=chosen, data=data)
