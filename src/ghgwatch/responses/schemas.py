"""Request bodies of the response-rule, command and work-order API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ghgwatch.registry.models import SourceType
from ghgwatch.responses.models import CommandStatus, ResponseAction, WorkOrderStatus

Severity = Field(default="alarm", pattern="^(warning|alarm)$")


class ResponseRuleIn(BaseModel):
    organization_id: int | None = None
    """Defaults to the caller's organisation."""
    name: str = Field(min_length=1, max_length=200)
    facility_id: int | None = None
    source_type: SourceType | None = None
    min_severity: str = Severity
    on_escalation: bool = True
    action: ResponseAction | None = None
    equipment: str | None = Field(default=None, min_length=1, max_length=120)
    command_url: str | None = Field(default=None, min_length=8, max_length=500)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    ack_timeout_s: float = Field(default=30.0, gt=0, le=86400)
    done_timeout_s: float = Field(default=600.0, gt=0, le=7 * 86400)
    work_order: bool = False
    work_order_assignee: str | None = Field(default=None, max_length=120)
    work_order_due_s: float = Field(default=3600.0, gt=0, le=365 * 86400)
    active: bool = True


class ResponseRulePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    min_severity: str | None = Field(default=None, pattern="^(warning|alarm)$")
    on_escalation: bool | None = None
    command_url: str | None = Field(default=None, min_length=8, max_length=500)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    ack_timeout_s: float | None = Field(default=None, gt=0, le=86400)
    done_timeout_s: float | None = Field(default=None, gt=0, le=7 * 86400)
    work_order: bool | None = None
    work_order_assignee: str | None = Field(default=None, max_length=120)
    work_order_due_s: float | None = Field(default=None, gt=0, le=365 * 86400)
    active: bool | None = None


class CommandReport(BaseModel):
    """What the equipment reports back (the body it signs)."""

    status: CommandStatus
    detail: str | None = Field(default=None, max_length=500)


class WorkOrderIn(BaseModel):
    organization_id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    alert_id: int | None = None
    facility_id: int | None = None
    assignee: str | None = Field(default=None, max_length=120)
    due_at: datetime | None = None


class WorkOrderPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    assignee: str | None = Field(default=None, max_length=120)
    due_at: datetime | None = None
    status: WorkOrderStatus | None = None
