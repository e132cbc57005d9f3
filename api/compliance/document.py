"""What the printable report shows besides the report model: the names in its header, each
alert's evidence, and the maps drawn from the track and the zones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np

from api.auth.models import Principal
from api.compliance import mapdraw
from api.compliance.i18n import Words
from api.compliance.service import ReportData
from api.params import TimeRange
from api.tracks.analysis import APPROX_SPAN_DEG, BoolArray, Track, relate
from geofence.geodesy import local_projection, wrap_degrees
from geofence.relation import UNCERTAIN, disk_radius
from store import reports

#: Alert kinds that are violations of a positional rule: each gets an inset map.
VIOLATION_KINDS = frozenset(
    {
        "left_permitted_area",
        "entered_exclusion_zone",
        "crossed_exclusion_zone",
        "curfew_broken",
        "too_close_to_protected_person",
        "overdue_return",
    }
)
#: Alert kinds whose evidence shows an uncertain position, not a violation.
UNCERTAIN_KINDS = frozenset({"location_uncertain"})
#: Most inset maps in one report (the alert table lists every violation).
MAX_INSETS = 12
#: Track drawn in an inset before the first and after the last evidence fix (ms).
INSET_CONTEXT_MS = 15 * 60 * 1000
MAP_SIZE = (700, 480)
INSET_SIZE = (340, 240)


@dataclass(frozen=True)
class Header:
    """Who and what the report is about, and who made it for what."""

    defendant: str
    supervising_unit: str
    procuratorate: str
    prosecutor: str
    generator: str
    generator_login: str
    generator_unit: str
    purpose: str


@dataclass(frozen=True)
class AlertEvidence:
    """An alert of the report with its rule and the fix keys (device, fix time ms, seq) it cites."""

    alert_id: int
    kind: str
    rule_id: int | None
    keys: list[tuple[str, int, int]]


@dataclass(frozen=True)
class Inset:
    alert_id: int
    kind: str
    fixes: int
    drawing: mapdraw.Drawing


@dataclass(frozen=True)
class Maps:
    main: mapdraw.Drawing
    insets: list[Inset]
    more: int


async def load_header(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, purpose: str
) -> Header:
    row = await conn.fetchrow(reports.SELECT_HEADER, case_id, principal.user_id)
    return Header(
        defendant=row["defendant"],
        supervising_unit=row["supervising_unit"],
        procuratorate=row["procuratorate"] or "",
        prosecutor=row["prosecutor"] or "",
        generator=row["generator"],
        generator_login=row["generator_login"],
        generator_unit=row["generator_unit"],
        purpose=purpose.strip(),
    )


def evidence_keys(evidence: object) -> list[tuple[str, int, int]]:
    """Fix keys of an alert's ``evidence`` JSON; entries that are not well-formed are skipped."""
    out = []
    for e in evidence if isinstance(evidence, list) else []:
        try:
            at = datetime.fromisoformat(e["fix_time"])
            out.append((str(e["device_id"]), round(at.timestamp() * 1000), int(e["seq"])))
        except (KeyError, TypeError, ValueError):
            continue
    return out


async def load_evidence(
    *, conn: asyncpg.Connection, case_id: int, rng: TimeRange
) -> list[AlertEvidence]:
    rows = await conn.fetch(reports.SELECT_ALERT_EVIDENCE, case_id, rng.start, rng.end)
    return [
        AlertEvidence(r["id"], r["kind"], r["rule_id"], evidence_keys(r["evidence"])) for r in rows
    ]


def mark(track: Track, keys: Sequence[tuple[str, int, int]]) -> BoolArray:
    """True for the fixes of ``track`` with one of the keys."""
    out = np.zeros(len(track), dtype=bool)
    for dev, t_ms, seq in keys:
        lo, hi = np.searchsorted(track.t_ms, [t_ms, t_ms + 1])
        for i in range(int(lo), int(hi)):
            if track.seq[i] == seq and track.device_id[i] == dev:
                out[i] = True
    return out


def _markers(
    data: ReportData, alerts: Sequence[AlertEvidence], marks: dict[int, BoolArray]
) -> BoolArray:
    """Fixes drawn as violations: certainly on the wrong side (the report's mask) or cited by a
    violation alert, but not those only cited by a "location uncertain" alert."""
    violation = data.violation_mask.copy()
    for a in alerts:
        if a.kind in UNCERTAIN_KINDS and a.alert_id in marks:
            violation &= ~marks[a.alert_id]
    for a in alerts:
        if a.kind in VIOLATION_KINDS and a.alert_id in marks:
            violation |= marks[a.alert_id]
    return violation


def _uncertain(data: ReportData) -> BoolArray:
    """Fixes whose disk straddles the boundary of a stay-inside or stay-outside zone (as the
    report measured them, or related here when it did not)."""
    if data.uncertain_mask is not None:
        return data.uncertain_mask
    out = np.zeros(len(data.track), dtype=bool)
    for rz in data.zones:
        if rz.kind in ("stay_inside", "stay_outside") and len(data.track):
            out |= relate(data.track, rz.zone) == UNCERTAIN
    return out


def draw_maps(data: ReportData, alerts: Sequence[AlertEvidence], w: Words) -> Maps:
    """The main map and the insets of the report."""
    track = data.track
    if len(track):
        lon0 = round(float(np.median(track.lon)), 3)
        lat0 = round(float(np.median(track.lat)), 3)
    elif data.zones:
        c = data.zones[0].zone.geometry.centroid
        lon0, lat0 = round(c.x, 3), round(c.y, 3)
    else:
        return Maps(mapdraw.Drawing(*MAP_SIZE, "map"), [], 0)
    near = not len(track) or float(np.abs(wrap_degrees(track.lon - lon0)).max()) < APPROX_SPAN_DEG
    proj = local_projection(lon0, lat0, approx=near)
    x, y = proj.forward(track.lon, track.lat)
    radius = disk_radius(track.acc)
    zones = mapdraw.project_zones(
        data.zones,
        proj,
        lambda rz: f"{rz.zone.name or rz.zone.zone_id} · {w.label('rule', rz.kind)}",
    )
    uncertain = _uncertain(data)
    marks = {a.alert_id: m for a in alerts if a.keys and (m := mark(track, a.keys)).any()}
    tz = ZoneInfo(data.report.timezone)

    def title(i: int) -> str:
        at = datetime.fromtimestamp(int(track.t_ms[i]) / 1000, UTC).astimezone(tz)
        return f"{at:%Y-%m-%d %H:%M:%S} ±{track.acc[i]:.0f} m"

    main = mapdraw.draw(
        ident="map", width=MAP_SIZE[0], height=MAP_SIZE[1], x=x, y=y, radius_m=radius,
        uncertain=uncertain, violation=_markers(data, alerts, marks), zones=zones, title=title,
    )  # fmt: skip
    insets = []
    candidates = [a for a in alerts if a.kind in VIOLATION_KINDS and a.alert_id in marks]
    for a in candidates[:MAX_INSETS]:
        ev = marks[a.alert_id]
        idx = np.flatnonzero(ev)
        t0, t1 = track.t_ms[idx[0]] - INSET_CONTEXT_MS, track.t_ms[idx[-1]] + INSET_CONTEXT_MS
        lo, hi = np.searchsorted(track.t_ms, [t0, t1 + 1])
        win = slice(int(lo), int(hi))
        own = [z for z, rz in zip(zones, data.zones, strict=True) if rz.rule_id == a.rule_id]

        def inset_title(i: int, base: int = int(lo)) -> str:
            return title(base + i)

        drawing = mapdraw.draw(
            ident=f"inset-map-{a.alert_id}", width=INSET_SIZE[0], height=INSET_SIZE[1], x=x[win],
            y=y[win], radius_m=radius[win], uncertain=uncertain[win], violation=ev[win],
            zones=own, title=inset_title, focus=ev[win],
        )  # fmt: skip
        insets.append(Inset(a.alert_id, a.kind, int(idx.size), drawing))
    return Maps(main, insets, max(0, len(candidates) - MAX_INSETS))
