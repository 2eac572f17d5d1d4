"""The sensors of a site, read from the demo credentials file (or any list of the same shape)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SensorSpec:
    id: int
    kind: str
    unit: str
    name: str = ""
    source: str = ""
    location: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensorSpec:
        return cls(id=int(data["id"]), kind=str(data["kind"]), unit=str(data.get("unit") or ""),
                   name=str(data.get("name") or ""), source=str(data.get("source") or ""),
                   location=data.get("location"))


def sensors_from(items: Iterable[Mapping[str, Any]]) -> list[SensorSpec]:
    return [SensorSpec.from_dict(item) for item in items]


def load_credentials(path: Path) -> dict[str, Any]:
    """Read ``demo-credentials.json`` (written by ``ghgwatch up --demo``) and check the keys we need."""
    data: dict[str, Any] = json.loads(path.read_text())
    missing = [key for key in ("api", "device_token", "sensors") if key not in data]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return data
