"""Schemas of the compliance report."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.compliance.score import Code


class GapOut(BaseModel):
    start: datetime
    end: datetime
    minutes: float
    limit_minutes: float = Field(description="the no-signal limit in force it outlasted")


class DayCoverage(BaseModel):
    day: date  # in the case's time zone
    expected_slots: int
    covered_slots: int
    share: float | None


class Coverage(BaseModel):
    interval_s: float = Field(description="the reporting interval: the length of one slot")
    expected_fixes: int = Field(
        description="expected slots: reporting intervals starting in the monitored time "
        "(assigned, before release and now, not excused by a permit or a rule switched off)"
    )
    received_fixes: int = Field(
        description="covered slots: expected slots holding at least one fix (<= expected)"
    )
    fixes_stored: int = Field(description="fixes stored in the range (several may share a slot)")
    share: float | None = Field(description="covered / expected, 0..1 (null: not monitored)")
    longest_gaps: list[GapOut] = Field(
        description="silences longer than the no-signal limit in force, longest first (at most 20)"
    )
    gap_count: int = Field(description="how many silences outlasted the limit in force")
    gap_minutes_total: float = Field(
        description="minutes of those silences, less what a permit or a rule excused"
    )
    days: list[DayCoverage] = Field(description="per local day of the range, for the bar chart")


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
    reason_zh: str = Field(description="the reason in Chinese (人读文本中文优先)")
    veto: bool
    row: str = Field(description="the line of the scoring table (api.compliance.score.TABLE)")


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
