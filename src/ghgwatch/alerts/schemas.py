"""Request bodies of the alert API (answers are the dicts of ``store.alert_dict`` and friends)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ghgwatch.alerts.models import Channel, RuleScope


class CommentIn(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


class CommentAdd(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


class AlertRuleIn(BaseModel):
    organization_id: int | None = None
    """Defaults to the caller's organisation."""
    scope: RuleScope
    selector: str = Field(min_length=1, max_length=100)
    rule_id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    definition: dict[str, Any]
    description: str | None = Field(default=None, max_length=2000)


class AlertRulePatch(BaseModel):
    definition: dict[str, Any] | None = None
    description: str | None = Field(default=None, max_length=2000)


class RouteIn(BaseModel):
    organization_id: int | None = None
    name: str = Field(min_length=1, max_length=200)
    min_severity: str = Field(default="warning", pattern="^(warning|alarm)$")
    facility_id: int | None = None
    channel: Channel
    target: str = Field(min_length=3, max_length=500)
    secret: str | None = Field(default=None, max_length=200)
    active: bool = True


class RoutePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    min_severity: str | None = Field(default=None, pattern="^(warning|alarm)$")
    facility_id: int | None = None
    target: str | None = Field(default=None, min_length=3, max_length=500)
    secret: str | None = Field(default=None, max_length=200)
    active: bool | None = None
