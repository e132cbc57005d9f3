"""Schemas of the compliance report."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.compliance.score import Code


class GapOut(BaseModel):
    start: datetime
    end: datetime
    minutes: float


class DayCoverage(BaseModel):
    day: date
    expected_slots: int
    covered_slots: int
    share: float | None


class Coverage(BaseModel):
    expected_fixes: int = Field(description="monitored time / expected interval")
    received_fixes: int
    share: float | None = Field(description="received / expected, 0..1 (null: not monitored)")
    longest_gaps: list[GapOut]
    days: list[DayCoverage] = Field(default_factory=list)


class KindSummary(BaseModel):
    kind: str
    count: int
    dispositions: dict[str, int] = Field(description="disposition (or status if open) -> count")


class AlertLine(BaseModel):
    id: int
    kind: str
    severity: str
    status: str
    started_at: datetime
    disposition: str | None
    resolution_note: str | None


class PermitLine(BaseModel):
    id: int
    status: str
    reason: str
    window_start: datetime
    window_end: datetime
    ended_at: datetime | None = Field(
        default=None, description="cancelled during its window: its effect ended here"
    )
    adherence: str = Field(
        description="kept | not_kept | pending | n/a: back within two hours of the end of its "
        "effect (its window's end, or its cancellation)"
    )


class DepositLine(BaseModel):
    id: int
    kind: str
    status: str
    amount_fen: int
    held_fen: int
    forfeited_fen: int
    released_fen: int
    returned_fen: int


class PointOut(BaseModel):
    points: int
    reason: str
    veto: bool


class ComplianceReport(BaseModel):
    case_id: int
    case_number: str
    measure: str
    timezone: str
    range_from: datetime
    range_to: datetime
    code: Code
    score: int = Field(description="0..100; see the points and the documented table")
    points: list[PointOut]
    coverage: Coverage
    minutes_outside_permitted: float
    minutes_uncertain: float
    violations_by_kind: list[KindSummary]
    alerts: list[AlertLine]
    leave_permits: list[PermitLine]
    deposits: list[DepositLine]
    generated_at: datetime
