"""The compliance code (green/yellow/red): a documented score with veto items. Pure.

The score starts at 100; each finding below deducts the points shown and is listed with its
reason, so a prosecutor sees exactly why the code is what it is.

=================================================  ========  =====
finding                                            points    veto
=================================================  ========  =====
coverage below 95% of expected fixes (below 80%)   -10 (-25)
gap without fixes longer than the no-signal limit  -5 each, at most 3 gaps
(the limit in force: the case's or its no_signal
rule's; none while off or suspended by a permit)
time certainly outside permitted areas (no permit) -10
confirmed violation: stay_inside / overdue return  -45
confirmed violation: any other kind                -20
confirmed exclusion-zone violation (stay_outside,    0       red
keep_away_from)
strap opening confirmed, or not explained          0       red
(not resolved as false alarm/technical/excused)
alert not yet resolved (other kinds)               -5 each, at most -20
location uncertain (alerts, uncertain time)        -5 each, at most -10 together
leave permit not kept (still away after its end)   -15 each
bail deposit forfeited in part or whole            -10
=================================================  ========  =====

Code: red on any veto or a score below 60; yellow below 85; green otherwise. Uncertain fixes
can cost at most 10 points and never veto: an uncertain position is not a violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Code(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


GREEN_MIN = 85
YELLOW_MIN = 60

EXCLUSION_KINDS = frozenset({"stay_outside", "keep_away_from"})
SERIOUS_KINDS = frozenset({"stay_inside", "overdue_return"})
STRAP_KINDS = frozenset({"strap_open"})
UNCERTAIN_KINDS = frozenset({"location_uncertain"})
EXPLAINED = frozenset({"false_alarm", "technical_fault", "excused_by_permit"})


@dataclass(frozen=True)
class AlertFact:
    """What the score needs of one alert in the range."""

    alert_id: int
    kind: str
    status: str
    disposition: str | None


@dataclass(frozen=True)
class Facts:
    """The measured inputs of the score (times in seconds, coverage a fraction 0..1)."""

    coverage: float | None
    #: (length s, limit s) of each silence longer than the no-signal limit in force then.
    long_gaps: list[tuple[float, float]]
    outside_s: float
    uncertain_s: float
    alerts: list[AlertFact]
    permits_not_kept: list[int]
    forfeited_fen: int


@dataclass(frozen=True)
class Point:
    """One line of the score: points deducted (negative or zero), why, whether it vetoes."""

    points: int
    reason: str
    veto: bool = False


@dataclass(frozen=True)
class Score:
    code: Code
    score: int
    points: list[Point] = field(default_factory=list)


def _alert_points(alerts: Iterable[AlertFact]) -> tuple[list[Point], list[Point], list[Point]]:
    """(findings, unresolved, uncertain) points of the alerts."""
    found: list[Point] = []
    unresolved: list[Point] = []
    uncertain: list[Point] = []
    for a in alerts:
        label = f"alert #{a.alert_id} {a.kind}"
        confirmed = a.status == "resolved" and a.disposition == "violation_confirmed"
        if a.kind in STRAP_KINDS and (a.status != "resolved" or a.disposition not in EXPLAINED):
            state = "confirmed" if confirmed else "not explained"
            found.append(Point(0, f"{label}: strap opening {state}", veto=True))
        elif a.kind in UNCERTAIN_KINDS:
            uncertain.append(Point(-5, f"{label}: location uncertain (not a violation)"))
        elif confirmed and a.kind in EXCLUSION_KINDS:
            found.append(Point(0, f"{label}: confirmed exclusion-zone violation", veto=True))
        elif confirmed:
            pts = -45 if a.kind in SERIOUS_KINDS else -20
            found.append(Point(pts, f"{label}: confirmed violation"))
        elif a.status != "resolved":
            unresolved.append(Point(-5, f"{label}: {a.status}, not yet resolved"))
        else:
            found.append(Point(0, f"{label}: resolved as {a.disposition}"))
    return found, unresolved, uncertain


def _capped(points: list[Point], cap: int, what: str) -> list[Point]:
    total = sum(p.points for p in points)
    if total >= -cap:
        return points
    return [*(Point(0, p.reason) for p in points), Point(-cap, f"{what}: capped at -{cap}")]


def score(facts: Facts) -> Score:
    """The code, the score and every point with its reason (see the module's table)."""
    points: list[Point] = []
    if facts.coverage is not None:
        pct = f"{facts.coverage:.1%}"
        if facts.coverage < 0.80:
            points.append(Point(-25, f"coverage {pct} of expected fixes, below 80%"))
        elif facts.coverage < 0.95:
            points.append(Point(-10, f"coverage {pct} of expected fixes, below 95%"))
        else:
            points.append(Point(0, f"coverage {pct} of expected fixes"))
    for gap, limit in sorted(facts.long_gaps, reverse=True)[:3]:
        points.append(Point(-5, f"{gap / 60:.0f} min without fixes (limit {limit / 60:.0f} min)"))
    if facts.outside_s > 0:
        points.append(
            Point(-10, f"{facts.outside_s / 60:.0f} min certainly outside permitted areas")
        )
    found, unresolved, uncertain = _alert_points(facts.alerts)
    points += found
    points += _capped(unresolved, 20, "unresolved alerts")
    if facts.uncertain_s > 0:
        uncertain.append(
            Point(-5, f"{facts.uncertain_s / 60:.0f} min of uncertain position near a boundary")
        )
    points += _capped(uncertain, 10, "uncertain position")
    for permit_id in facts.permits_not_kept:
        points.append(Point(-15, f"leave permit #{permit_id}: still away after it ended"))
    if facts.forfeited_fen > 0:
        points.append(Point(-10, f"bail deposit forfeited: {facts.forfeited_fen} fen"))
    total = max(0, 100 + sum(p.points for p in points))
    if any(p.veto for p in points) or total < YELLOW_MIN:
        code = Code.red
    elif total < GREEN_MIN:
        code = Code.yellow
    else:
        code = Code.green
    return Score(code, total, points)
