"""The compliance code (green/yellow/red): a documented score with veto items. Pure.

The score starts at 100; each finding deducts the points of its line of ``TABLE`` and is listed
with its reason, so a prosecutor sees exactly why the code is what it is. ``TABLE`` is the only
statement of the scoring: ``docs/compliance.md`` carries ``render_table()`` verbatim (a test
compares them), and the alert kinds the ``alerts`` table stores are sorted into the table's
lines by ``CATEGORY`` (keyed by ``alerts.kinds.AlertKind``: the one mapping; the engine's rule
kinds reach it only through ``alerts.kinds.violation_kind``).

Code: red on any veto or a score below 60; yellow below 85; green otherwise.

Choices, and why:

- A breach of the bail conditions (left the permitted area, entered or crossed an exclusion
  zone, came too close to a protected person, not back when leave ended) is a veto once the
  police confirm it (disposition ``violation_confirmed``): the law treats it as a breach.
- A breach alert not yet resolved is not a veto (nobody has judged it, and a wrong red can cost
  someone their liberty) but it costs 25 points, so the code cannot be green while it is open.
- A breach resolved as false alarm, technical fault or excused by permit costs nothing.
- A strap opening vetoes unless it is resolved as explained: the watch reports it itself (no
  position uncertainty), and an unexplained one means the watch may no longer be on the wrist.
- Uncertain positions cost at most 10 points together and never veto: an uncertain position is
  not a violation.
- Silences are judged as the no-signal watchdog judges them (the limit in force then; none while
  a rule is switched off or suspended by a leave permit). More than 24 hours of such silence
  in the range vetoes: supervision was lost for a day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from alerts.kinds import AlertKind
from api.compliance.labels import DISPOSITION_ZH, KIND_ZH, STATUS_ZH, yuan


class Code(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


GREEN_MIN = 85
YELLOW_MIN = 60

#: Silence beyond the limit, in total over the range, that vetoes (seconds).
SILENCE_VETO_S = 24 * 3600.0

EXPLAINED = frozenset({"false_alarm", "technical_fault", "excused_by_permit"})


class Category(StrEnum):
    """How the score treats an alert kind."""

    breach = "breach"
    tamper = "tamper"
    curfew = "curfew"
    device = "device"
    uncertain = "uncertain"


#: Every alert kind the alerts package raises, by how the score treats it.
CATEGORY: Mapping[AlertKind, Category] = {
    AlertKind.left_permitted_area: Category.breach,
    AlertKind.entered_exclusion_zone: Category.breach,
    AlertKind.crossed_exclusion_zone: Category.breach,
    AlertKind.too_close_to_protected_person: Category.breach,
    AlertKind.overdue_return: Category.breach,
    AlertKind.strap_opened: Category.tamper,
    AlertKind.curfew_broken: Category.curfew,
    AlertKind.no_signal: Category.device,
    AlertKind.powered_off: Category.device,
    AlertKind.battery_critical: Category.device,
    AlertKind.impossible_movement: Category.device,
    AlertKind.location_uncertain: Category.uncertain,
}


def category(kind: str) -> Category:
    """The category of a stored alert kind; a kind this version does not know counts as a
    device condition (it costs points, it never vetoes) rather than vanishing."""
    try:
        return CATEGORY[AlertKind(kind)]
    except ValueError:
        return Category.device


class Row(StrEnum):
    """The lines of the table (``Point.row`` names the line a point comes from)."""

    coverage_below_95 = "coverage_below_95"
    coverage_below_80 = "coverage_below_80"
    silence = "silence"
    silence_over_24h = "silence_over_24h"
    outside = "outside"
    breach_confirmed = "breach_confirmed"
    breach_open = "breach_open"
    strap_unexplained = "strap_unexplained"
    curfew_confirmed = "curfew_confirmed"
    device_confirmed = "device_confirmed"
    alert_open = "alert_open"
    uncertain = "uncertain"
    explained = "explained"
    permit_not_kept = "permit_not_kept"
    deposit_forfeited = "deposit_forfeited"


@dataclass(frozen=True)
class Line:
    """One line of the scoring table: points each time (<= 0), the most the line may cost in
    total (None: no cap), whether it vetoes."""

    row: Row
    finding: str
    finding_zh: str
    points: int
    cap: int | None = None
    veto: bool = False
    #: The line counts once per alert, permit or silence (else once per report).
    each: bool = False

    def cost(self) -> str:
        """The points as the table shows them."""
        if self.cap is None:
            return f"{self.points} each" if self.each and self.points else str(self.points)
        if self.cap == -self.points:
            return f"{self.points} once"
        return f"{self.points} each, at most -{self.cap}"


_BREACH = "left permitted area / entered or crossed exclusion zone / too close to protected person"
TABLE: tuple[Line, ...] = (
    Line(Row.coverage_below_95, "coverage below 95% of expected reporting slots",
         "定位覆盖率低于95%", -10),
    Line(Row.coverage_below_80, "coverage below 80% of expected reporting slots (instead)",
         "定位覆盖率低于80%（取代上一项）", -25),
    Line(Row.silence, "silence longer than the no-signal limit in force",
         "无信号时长超过当时有效的限值", -5, cap=15),
    Line(Row.silence_over_24h, "such silences over 24 h in total",
         "超限无信号累计超过24小时", 0, veto=True),
    Line(Row.outside, "time certainly outside permitted areas or inside exclusion zones",
         "确定位于允许区域外或禁入区域内的时间", -10),
    Line(Row.breach_confirmed, f"breach confirmed: {_BREACH} / overdue return",
         "违规经确认：离开允许区域、进入或穿越禁入区域、接近受保护人、逾期未归", 0, veto=True),
    Line(Row.breach_open, "breach alert not yet resolved (code at best yellow)",
         "违规告警尚未处置（最高为黄码）", -25, cap=25),
    Line(Row.strap_unexplained, "strap opening confirmed or not explained",
         "腕带打开经确认或未作说明", 0, veto=True),
    Line(Row.curfew_confirmed, "curfew broken, confirmed", "违反宵禁经确认", -45, each=True),
    Line(Row.device_confirmed, "no signal / powered off / battery / impossible movement, confirmed",
         "无信号、关机、电量、异常移动经确认", -20, each=True),
    Line(Row.alert_open, "other alert not yet resolved", "其他告警尚未处置", -5, cap=20),
    Line(Row.uncertain, "location uncertain: each alert, and any uncertain time",
         "位置不确定：每条告警及不确定时间", -5, cap=10),
    Line(Row.explained, "alert resolved as false alarm / technical fault / excused by permit",
         "告警经处置为误报、技术故障或经许可", 0),
    Line(Row.permit_not_kept, "leave permit not kept (still away after its end)",
         "未按外出许可按时返回", -15, each=True),
    Line(Row.deposit_forfeited, "bail deposit forfeited in part or whole",
         "保证金被没收（部分或全部）", -10),
)  # fmt: skip
LINES: Mapping[Row, Line] = {line.row: line for line in TABLE}


def render_table() -> str:
    """The scoring table as Markdown (``docs/compliance.md`` holds it verbatim)."""
    out = [
        "| line | finding | 项目 | points | veto |",
        "|---|---|---|---|---|",
    ]
    for line in TABLE:
        veto = "red" if line.veto else ""
        out.append(
            f"| `{line.row}` | {line.finding} | {line.finding_zh} | {line.cost()} | {veto} |"
        )
    return "\n".join(out) + "\n"


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
    #: Seconds of those silences in total, less what a permit or a rule switched off excused.
    silence_s: float
    outside_s: float
    uncertain_s: float
    alerts: list[AlertFact]
    permits_not_kept: list[int]
    forfeited_fen: int


@dataclass(frozen=True)
class Point:
    """One line of the score: points deducted (negative or zero), why (in English and in
    Chinese), whether it vetoes, and the table line it comes from."""

    points: int
    reason: str
    veto: bool
    row: Row
    reason_zh: str


@dataclass(frozen=True)
class Score:
    code: Code
    score: int
    points: list[Point] = field(default_factory=list)


def _point(row: Row, reason: str, reason_zh: str) -> Point:
    line = LINES[row]
    return Point(line.points, reason, line.veto, row, reason_zh)


def _alert_point(a: AlertFact) -> Point:
    label = f"alert #{a.alert_id} {a.kind}"
    zh = f"告警 #{a.alert_id}（{KIND_ZH.get(a.kind, a.kind)}）"
    status_zh = STATUS_ZH.get(a.status, a.status)
    cat = category(a.kind)
    resolved = a.status == "resolved"
    if resolved and a.disposition in EXPLAINED:
        why = DISPOSITION_ZH[a.disposition or ""]
        return _point(Row.explained, f"{label}: resolved as {a.disposition}", f"{zh}：处置为{why}")
    if cat is Category.uncertain:
        return _point(Row.uncertain, f"{label}: location uncertain (not a violation)",
                      f"{zh}：位置不确定（不属违规）")  # fmt: skip
    if cat is Category.tamper:
        if resolved:
            return _point(Row.strap_unexplained, f"{label}: strap opening confirmed",
                          f"{zh}：腕带打开经确认")  # fmt: skip
        return _point(Row.strap_unexplained, f"{label}: strap opening {a.status}, not explained",
                      f"{zh}：{status_zh}，未作说明")  # fmt: skip
    if not resolved:
        row = Row.breach_open if cat is Category.breach else Row.alert_open
        return _point(row, f"{label}: {a.status}, not yet resolved", f"{zh}：{status_zh}，尚未处置")
    row = {
        Category.breach: Row.breach_confirmed,
        Category.curfew: Row.curfew_confirmed,
    }.get(cat, Row.device_confirmed)
    return _point(row, f"{label}: violation confirmed", f"{zh}：违规属实")


def _capped(points: list[Point]) -> list[Point]:
    """Points with each line's cap applied: past the cap a point costs nothing and says so."""
    out: list[Point] = []
    spent: dict[Row, int] = {}
    for p in points:
        cap = LINES[p.row].cap
        if cap is None:
            out.append(p)
            continue
        used = spent.get(p.row, 0)
        cost = min(-p.points, cap - used)
        spent[p.row] = used + cost
        if cost == -p.points:
            out.append(p)
        else:
            out.append(Point(-cost, f"{p.reason} (line capped at -{cap})", p.veto, p.row,
                             f"{p.reason_zh}（本项最多扣{cap}分）"))  # fmt: skip
    return out


def _silence_points(long_gaps: Iterable[tuple[float, float]], total: float) -> list[Point]:
    points = [
        _point(
            Row.silence,
            f"{gap / 60:.0f} min without fixes (limit {limit / 60:.0f} min)",
            f"{gap / 60:.0f} 分钟无定位（限值 {limit / 60:.0f} 分钟）",
        )
        for gap, limit in sorted(long_gaps, reverse=True)
    ]
    if total > SILENCE_VETO_S:
        hours = f"{total / 3600:.1f}"
        points.append(_point(Row.silence_over_24h, f"{hours} h without fixes beyond the limit",
                             f"超限无定位累计 {hours} 小时"))  # fmt: skip
    return points


def score(facts: Facts) -> Score:
    """The code, the score and every point with its reason (see ``TABLE``)."""
    points: list[Point] = []
    if facts.coverage is not None and facts.coverage < 0.95:
        pct = f"{facts.coverage:.1%}"
        row = Row.coverage_below_80 if facts.coverage < 0.80 else Row.coverage_below_95
        points.append(_point(row, f"coverage {pct} of expected slots", f"定位覆盖率 {pct}"))
    points += _silence_points(facts.long_gaps, facts.silence_s)
    if facts.outside_s > 0:
        minutes = f"{facts.outside_s / 60:.0f}"
        points.append(_point(Row.outside, f"{minutes} min certainly on the wrong side",
                             f"确定位于允许区域外或禁入区域内 {minutes} 分钟"))  # fmt: skip
    points += [_alert_point(a) for a in sorted(facts.alerts, key=lambda a: a.alert_id)]
    if facts.uncertain_s > 0:
        minutes = f"{facts.uncertain_s / 60:.0f}"
        points.append(_point(Row.uncertain, f"{minutes} min of uncertain position near a boundary",
                             f"边界附近位置不确定 {minutes} 分钟"))  # fmt: skip
    for permit_id in facts.permits_not_kept:
        points.append(_point(Row.permit_not_kept,
                             f"leave permit #{permit_id}: still away after it ended",
                             f"外出许可 #{permit_id}：到期后仍未返回"))  # fmt: skip
    if facts.forfeited_fen > 0:
        amount = yuan(facts.forfeited_fen)
        points.append(_point(Row.deposit_forfeited, f"bail deposit forfeited: ¥{amount}",
                             f"保证金被没收：{amount} 元"))  # fmt: skip
    points = _capped(points)
    total = max(0, 100 + sum(p.points for p in points))
    if any(p.veto for p in points) or total < YELLOW_MIN:
        code = Code.red
    elif total < GREEN_MIN:
        code = Code.yellow
    else:
        code = Code.green
    return Score(code, total, points)
