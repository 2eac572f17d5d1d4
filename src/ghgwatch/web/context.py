"""Typed application state built at start-up and reached from request dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from ghgwatch.settings import Settings
from ghgwatch.store import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    jwt_key: str
    extras: dict[str, Any] = field(default_factory=dict)
    """Services added by later roles (bus, pipeline, alert hub), keyed by name."""


def context(conn: HTTPConnection) -> AppContext:
    ctx: AppContext = conn.app.state.ctx
    return ctx
