"""Assemble the compliance report of a case over a range from stored facts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from alerts.ruleset import no_signal_rules
from api.auth.models import Principal
from api.compliance import measure
from api.compliance.models import (
    AlertLine,
    ComplianceReport,
    Coverage,
    DepositLine,
    GapOut,
    KindSummary,
    PermitLine,
    PointOut,
)
from api.compliance.score import AlertFact, Facts, score
from api.params import TimeRange
from api.tracks import service as tracks
from api.tracks.analysis import BoolArray, RuleZone, Track
from config.settings import ApiSettings
from geofence.device import DevicePolicy
from store import alerts, assignments, deposits, permits, watchdog

#: After a permit ends, fixes within this window that are still outside make it "not kept".
RETURN_WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class ReportData:
    """The report and what the printable map needs besides it."""

    report: ComplianceReport
    track: Track
    zones: list[RuleZone]
    violation_mask: BoolArray
    #: The access-log entry of this read (a rendered document's hash is recorded on it).
    access_id: int = 0


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


async def build(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    api: ApiSettings,
    case_id: int,
    rng: TimeRange,
    purpose: str,
    fmt: str,
) -> ReportData:
    """Read (and log) everything the report shows, measure, score."""
    case, access_id = await tracks.open_read_logged(
        conn=conn,
        principal=principal,
        case_id=case_id,
        rng=rng,
        purpose=purpose,
        action="compliance.read",
        detail={"format": fmt},
    )
    track = await tracks.load_track(conn=conn, case_id=case_id, rng=rng)
    zones = await tracks.load_zones(conn=conn, case_id=case_id)
    monitored = await conn.fetchval(
        assignments.SELECT_MONITORED_SECONDS, case_id, rng.start, rng.end
    )
    alert_rows = await conn.fetch(alerts.SELECT_FOR_CASE_RANGE, case_id, rng.start, rng.end)
    permit_rows = await conn.fetch(permits.LIST_FOR_CASE, case_id, rng.start, rng.end)
    deposit_rows = await conn.fetch(deposits.LIST_FOR_CASE, case_id)
    #: Permits that relaxed the rules for a time, with the end of their effect (a permit
    #: cancelled during its window ends at the cancellation).
    in_effect = {
        p["id"]: p["ended_at"] or p["window_end"]
        for p in permit_rows
        if p["status"] == "approved" or p["ended_at"] is not None
    }
    m = measure.measure(
        track,
        zones,
        start_ms=_ms(rng.start),
        end_ms=_ms(rng.end),
        monitored_s=monitored,
        interval_s=api.expected_fix_interval_s,
        permit_windows_ms=[
            (_ms(p["window_start"]), _ms(in_effect[p["id"]]))
            for p in permit_rows
            if p["id"] in in_effect
        ],
    )
    permit_lines, not_kept = [], []
    raw_outside = _outside_any(track, zones) if in_effect else m.outside_mask
    for p in permit_rows:
        adherence = "n/a"
        end = in_effect.get(p["id"])
        if end is not None:
            if end + RETURN_WINDOW > rng.end:
                adherence = "pending"
            elif measure.away_after(
                track, raw_outside, _ms(end), int(RETURN_WINDOW.total_seconds() * 1000)
            ):
                adherence = "not_kept"
                not_kept.append(p["id"])
            else:
                adherence = "kept"
        permit_lines.append(
            PermitLine(
                **{
                    k: p[k]
                    for k in ("id", "status", "reason", "window_start", "window_end", "ended_at")
                },
                adherence=adherence,
            )
        )
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for a in alert_rows:
        by_kind[a["kind"]][a["disposition"] or a["status"]] += 1
    forfeited = sum(d["forfeited_fen"] for d in deposit_rows if d["kind"] == "bail")
    rules, _ = no_signal_rules(await conn.fetch(watchdog.SELECT_CASE_NO_SIGNAL_RULES, case_id))
    silence = DevicePolicy(
        tuple(rules.get(case_id, ())), no_signal_after_s=float(case["no_signal_limit_s"])
    )
    long_gaps = [
        (g.seconds, limit)
        for g in m.longest_gaps
        if (limit := silence.silence_outlasted(_at(g.start_ms), _at(g.end_ms))) is not None
    ]
    result = score(
        Facts(
            coverage=m.coverage,
            long_gaps=long_gaps,
            outside_s=m.outside_s,
            uncertain_s=m.uncertain_s,
            alerts=[
                AlertFact(a["id"], a["kind"], a["status"], a["disposition"]) for a in alert_rows
            ],
            permits_not_kept=not_kept,
            forfeited_fen=forfeited,
        )
    )
    report = ComplianceReport(
        case_id=case_id,
        case_number=case["case_number"],
        measure=case["measure"],
        timezone=case["timezone"],
        range_from=rng.start,
        range_to=rng.end,
        code=result.code,
        score=result.score,
        points=[PointOut(points=p.points, reason=p.reason, veto=p.veto) for p in result.points],
        coverage=Coverage(
            expected_fixes=m.expected,
            received_fixes=m.received,
            share=m.coverage,
            longest_gaps=[
                GapOut(start=_at(g.start_ms), end=_at(g.end_ms), minutes=round(g.seconds / 60, 1))
                for g in m.longest_gaps
            ],
        ),
        minutes_outside_permitted=round(m.outside_s / 60, 1),
        minutes_uncertain=round(m.uncertain_s / 60, 1),
        violations_by_kind=[
            KindSummary(kind=k, count=sum(c.values()), dispositions=dict(c))
            for k, c in sorted(by_kind.items())
        ],
        alerts=[AlertLine.model_validate(dict(a)) for a in alert_rows],
        leave_permits=permit_lines,
        deposits=[DepositLine.model_validate(dict(d)) for d in deposit_rows],
        generated_at=datetime.now(UTC),
    )
    violation = m.outside_mask | track.evidence
    return ReportData(report, track, zones, violation, access_id)


def _outside_any(track: Track, zones: list[RuleZone]) -> BoolArray:
    """Certainly-wrong-side fixes ignoring permits (for checking the return after a permit)."""
    return measure.measure(
        track, zones, start_ms=0, end_ms=0, monitored_s=0, interval_s=1, permit_windows_ms=[]
    ).outside_mask
