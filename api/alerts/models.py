"""Schemas of the alerts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from alerts.lifecycle import AlertStatus, Disposition

Severity = str


class AlertOut(BaseModel):
    """An alert: one episode of one rule of one case (times UTC)."""

    id: int
    case_id: int
    rule_id: int | None
    device_id: str | None
    unit_id: int = Field(description="the police unit the alert is routed to")
    kind: str
    severity: str = Field(description="critical|high|medium|low")
    status: AlertStatus
    started_at: datetime = Field(description="when the episode began (first violating fix)")
    opened_at: datetime = Field(description="when the alert was raised")
    cleared_at: datetime | None = Field(description="when the condition ended, if it has")
    late: bool = Field(description="raised from fixes that arrived late (offline buffer)")
    evidence: Any = Field(description="the fixes that show it: [{device_id, fix_time, seq}]")
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    disposition: Disposition | None
    resolution_note: str | None
    escalation_level: int


class AlertEventOut(BaseModel):
    """One entry of an alert's timeline: who (user id; null for the system) did what, when."""

    id: int
    at: datetime
    actor_id: int | None
    kind: str
    data: dict[str, Any]


class AlertDetail(AlertOut):
    events: list[AlertEventOut] = Field(description="the timeline, oldest first")


class Resolution(BaseModel):
    """How an alert ended: the disposition and what was found (mandatory)."""

    disposition: Disposition
    note: str = Field(min_length=1, max_length=4000, description="what was found and done")
