"""Schemas of the alerts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, computed_field

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
    follows_alert_id: int | None = Field(
        default=None,
        description="the resolved alert of the same episode this one follows: the condition "
        "went on after that one was resolved",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def condition_ongoing(self) -> bool:
        """Whether the condition had not cleared when last evaluated."""
        return self.cleared_at is None


class AlertEventOut(BaseModel):
    """One entry of an alert's timeline: who (user id; null for the system) did what, when."""

    id: int
    at: datetime
    actor_id: int | None
    kind: str
    data: dict[str, Any]


class AlertDetail(AlertOut):
    events: list[AlertEventOut] = Field(description="the timeline, oldest first")
    notice: str | None = Field(
        default=None,
        description="what follows from the step just taken (Chinese, then English): resolving "
        "an alert whose condition goes on says when a new alert will open",
    )


class Resolution(BaseModel):
    """How an alert ended: the disposition and what was found (mandatory)."""

    disposition: Disposition
    note: str = Field(min_length=1, max_length=4000, description="what was found and done")
