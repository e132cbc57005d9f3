"""Assemble the compliance report of a case over a range from stored facts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np

from alerts.ruleset import no_signal_rules
from api.auth.models import Principal
from api.compliance import coverage, measure
from api.compliance.models import (
    AlertLine,
    ComplianceReport,
    Coverage,
    DayCoverage,
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
from store import alerts, deposits, permits, watchdog
from store import compliance as sql

#: After a permit ends, fixes within this window that are still outside make it "not kept".
RETURN_WINDOW = timedelta(hours=2)

#: Silences listed in the report (longest first); all of them count in the score.
LISTED_GAPS = 20


@dataclass(frozen=True)
class ReportData:
    """The report and what the printable map needs besides it."""

    report: ComplianceReport
    track: Track
    zones: list[RuleZone]
    violation_mask: BoolArray
    #: The access-log entry of this read (a rendered document's hash is recorded on it).
    access_id: int = 0
    #: Fixes whose disk straddles the edge of a stay-inside or stay-outside zone, as measured
    #: (None: not measured, the map relates the track to the zones itself).
    uncertain_mask: BoolArray | None = None


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
    now = datetime.now(UTC)
    assigned = await conn.fetch(sql.SELECT_MONITORED_WINDOWS, case_id, rng.start, rng.end)
    track = defendant_only(
        track, [(a["device_id"], _ms(a["start"]), _ms(a["end"])) for a in assigned]
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
        end_ms=_ms(min(rng.end, now)),
        interval_s=api.expected_fix_interval_s,
        permit_windows_ms=[
            (_ms(p["window_start"]), _ms(in_effect[p["id"]]))
            for p in permit_rows
            if p["id"] in in_effect
        ],
    )
    permit_lines, not_kept = [], []
    #: Certainly-wrong-side fixes ignoring permits (for checking the return after a permit).
    raw_outside = m.wrong_mask
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
    #: Monitoring ends at the range's end, at release, and now: the future is never expected.
    monitored_end = min(rng.end, now, case["released_at"] or rng.end)
    cov = _coverage(
        track=track,
        silence=silence,
        assigned=[(_ms(a["start"]), _ms(a["end"])) for a in assigned],
        start=rng.start,
        end=max(monitored_end, rng.start),
        interval_s=api.expected_fix_interval_s,
        timezone=case["timezone"],
    )
    long_gaps = [(g.minutes * 60, g.limit_minutes * 60) for g in cov.longest_gaps]
    result = score(
        Facts(
            coverage=cov.share,
            long_gaps=long_gaps,
            silence_s=cov.gap_minutes_total * 60,
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
        points=[
            PointOut(
                points=p.points, reason=p.reason, reason_zh=p.reason_zh, veto=p.veto, row=p.row
            )
            for p in result.points
        ],
        coverage=cov.model_copy(update={"longest_gaps": cov.longest_gaps[:LISTED_GAPS]}),
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
    return ReportData(report, track, zones, violation, access_id, m.uncertain_mask)


def defendant_only(track: Track, windows: list[tuple[str, int, int]]) -> Track:
    """The fixes of ``track`` a defendant device took while assigned as such (device, start ms,
    end ms): a protected person's device reports for the case too."""
    keep = np.zeros(len(track), dtype=bool)
    if len(set(track.device_id)) <= 1 and bool(np.all(track.t_ms[1:] >= track.t_ms[:-1])):
        # One device (the common case): its windows are time ranges of the sorted track.
        for device, a, b in windows:
            if track.device_id and device == track.device_id[0]:
                lo, hi = np.searchsorted(track.t_ms, [a, b], side="left")
                keep[int(lo) : int(hi)] = True
    else:
        devices = np.asarray(track.device_id, dtype=object)
        for device, a, b in windows:
            keep |= (devices == device) & (track.t_ms >= a) & (track.t_ms < b)
    if keep.all():
        return track
    idx = np.flatnonzero(keep)
    return replace(
        track,
        device_id=[track.device_id[i] for i in idx],
        t_ms=track.t_ms[keep],
        seq=track.seq[keep],
        lon=track.lon[keep],
        lat=track.lat[keep],
        acc=track.acc[keep],
        src=[track.src[i] for i in idx],
        verdict=track.verdict[keep],
    )


def _coverage(
    *,
    track: Track,
    silence: DevicePolicy,
    assigned: list[coverage.Window],
    start: datetime,
    end: datetime,
    interval_s: float,
    timezone: str,
) -> Coverage:
    """Slots expected and covered over the monitored windows of [start, end) (``end`` already
    cut at now and release), per day, and the silences that outlasted the limit in force."""
    start_ms, end_ms = _ms(start), _ms(end)
    monitored = coverage.clip(assigned, start_ms, end_ms)
    excused = coverage.silence_excused(silence, start, end) if end > start else []
    slots = coverage.slots(track.t_ms, coverage.subtract(monitored, excused), interval_s)
    shortest = min(
        [float(silence.no_signal_after_s or 0)]
        + [r.threshold for r in silence.rules if r.threshold is not None]
    )
    gaps: list[tuple[coverage.Silence, float]] = [
        (g, limit)
        for g in coverage.silences(track.t_ms, monitored, shortest)
        if (limit := silence.silence_outlasted(_at(g.start_ms), _at(g.end_ms))) is not None
    ]
    gaps.sort(key=lambda gl: gl[0].seconds, reverse=True)
    unexcused_s = sum(
        g.seconds - coverage.overlap_ms((g.start_ms, g.end_ms), excused) / 1000 for g, _ in gaps
    )
    expected = slots.expected
    return Coverage(
        interval_s=interval_s,
        expected_fixes=expected,
        received_fixes=slots.covered,
        fixes_stored=len(track),
        share=slots.covered / expected if expected else None,
        longest_gaps=[
            GapOut(
                start=_at(g.start_ms),
                end=_at(g.end_ms),
                minutes=round(g.seconds / 60, 1),
                limit_minutes=round(limit / 60, 1),
            )
            for g, limit in gaps
        ],
        gap_count=len(gaps),
        gap_minutes_total=round(unexcused_s / 60, 1),
        days=[
            DayCoverage(
                day=d.day, expected_slots=d.expected, covered_slots=d.covered, share=d.share
            )
            for d in coverage.per_day(slots, start_ms, end_ms, timezone)
        ],
    )
