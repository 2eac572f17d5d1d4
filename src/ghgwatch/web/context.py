"""Typed application state built at start-up and reached from request dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

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


class ServingContext(Protocol):
    """What routes served by both the platform and the edge gateway (the ingest router) may read from
    ``app.state.ctx``: the gateway's context has no database (``db`` is ``None``)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database | None: ...

    @property
    def extras(self) -> dict[str, Any]: ...


def serving_context(conn: HTTPConnection) -> ServingContext:
    ctx: ServingContext = conn.app.state.ctx
    return ctx
