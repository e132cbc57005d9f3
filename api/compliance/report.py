"""Printable compliance report: one self-contained HTML page (no scripts, no network, no map
tiles) with an inline SVG map of the zones, the track and the violations, projected locally."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from api.compliance.service import ReportData
from api.tracks.analysis import project, simplify
from geofence.geodesy import local_projection
from geofence.models import ZoneKind

WIDTH, HEIGHT, PAD = 800, 560, 20
#: Most vertices of the drawn track (simplified for drawing; violations always drawn).
MAX_TRACK_VERTICES = 3000
_COLOURS = {"green": "#1a7f37", "yellow": "#b58100", "red": "#c62828"}
_STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans",sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:20px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px}
.code{display:inline-block;padding:4px 12px;color:#fff;font-weight:bold;border-radius:4px}
svg{border:1px solid #999;background:#fafafa}.zone-inside{fill:#2e7d3233;stroke:#2e7d32}
.zone-outside{fill:#c6282833;stroke:#c62828}.track{fill:none;stroke:#1565c0;stroke-width:1.2}
.violation{fill:#c62828;stroke:#fff}@media print{body{margin:0}}
"""


class _Frame:
    """Maps projected metres to SVG pixels (north up, equal scale on both axes)."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self.x0, self.y1 = float(xs.min()), float(ys.max())
        self.k = min((WIDTH - 2 * PAD) / max(float(xs.max()) - self.x0, 1.0),
                     (HEIGHT - 2 * PAD) / max(float(ys.max()) - float(ys.min()), 1.0))  # fmt: skip

    def xy(self, x: float, y: float) -> str:
        return f"{PAD + (x - self.x0) * self.k:.1f},{PAD + (self.y1 - y) * self.k:.1f}"


def _zone_shape(data: ReportData, lon0: float, lat0: float) -> list[tuple[str, BaseGeometry]]:
    proj = local_projection(lon0, lat0)

    def fwd(c: np.ndarray) -> np.ndarray:
        x, y = proj.forward(c[:, 0], c[:, 1])
        return np.column_stack((x, y))

    shapes = []
    for rz in data.zones:
        geom = shapely.transform(rz.zone.geometry, fwd)
        if rz.zone.kind is ZoneKind.CIRCLE and rz.zone.radius_m:
            geom = shapely.buffer(geom, rz.zone.radius_m, quad_segs=16)
        elif rz.zone.kind is ZoneKind.CORRIDOR and rz.zone.width_m:
            geom = shapely.buffer(geom, rz.zone.width_m / 2)
        css = "zone-outside" if rz.kind in ("stay_outside", "keep_away_from") else "zone-inside"
        shapes.append((css, geom))
    return shapes


def svg_map(data: ReportData) -> str:
    """The map: zones, the (drawing-simplified) track, a marker per violation fix."""
    track = data.track
    if len(track) == 0 and not data.zones:
        return '<svg id="map" width="800" height="80"><text x="20" y="40">no data</text></svg>'
    lon0 = float(np.median(track.lon)) if len(track) else data.zones[0].zone.geometry.centroid.x
    lat0 = float(np.median(track.lat)) if len(track) else data.zones[0].zone.geometry.centroid.y
    lon0, lat0 = round(lon0, 3), round(lat0, 3)
    x, y = project(track) if len(track) else (np.zeros(0), np.zeros(0))
    shapes = _zone_shape(data, lon0, lat0)
    xs = np.concatenate([x, *[shapely.get_coordinates(g)[:, 0] for _, g in shapes]])
    ys = np.concatenate([y, *[shapely.get_coordinates(g)[:, 1] for _, g in shapes]])
    frame = _Frame(xs, ys)
    parts = [f'<svg id="map" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}">']  # fmt: skip
    for css, geom in shapes:
        for poly in getattr(geom, "geoms", [geom]):
            rings = [poly.exterior, *poly.interiors]
            d = " ".join(
                "M" + " L".join(frame.xy(px, py) for px, py in r.coords) + " Z" for r in rings
            )
            parts.append(f'<path class="{css}" fill-rule="evenodd" d="{d}"/>')
    if len(track):
        tolerance = 1.0 / frame.k
        idx = simplify(track, tolerance, np.zeros(len(track), dtype=bool))
        if idx.size > MAX_TRACK_VERTICES:
            idx = idx[:: int(np.ceil(idx.size / MAX_TRACK_VERTICES))]
        pts = " ".join(frame.xy(x[i], y[i]) for i in idx)
        parts.append(f'<polyline class="track" points="{pts}"/>')
        tz = ZoneInfo(data.report.timezone)
        for i in np.flatnonzero(data.violation_mask):
            cx, cy = frame.xy(x[i], y[i]).split(",")
            when = np.datetime64(int(track.t_ms[i]), "ms").astype(object)
            label = escape(when.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).isoformat())
            parts.append(f'<circle class="violation" cx="{cx}" cy="{cy}" r="4" '
                         f'data-time="{label}"><title>{label}</title></circle>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[str], rows: list[list[object]], table_id: str) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = (
        "".join(
            "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
        )
        or f'<tr><td colspan="{len(head)}">none</td></tr>'
    )
    return f'<table id="{table_id}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def render_html(data: ReportData) -> str:
    """The whole printable page."""
    r = data.report
    tz = ZoneInfo(r.timezone)

    def t(value: object) -> str:
        return (
            value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if hasattr(value, "astimezone") else ""
        )

    colour = _COLOURS[r.code.value]
    t0 = _table(
        ["points", "reason", "veto"],
        [[p.points, p.reason, "VETO" if p.veto else ""] for p in r.points],
        "points",
    )
    t1 = _table(
        ["gap from", "to", "minutes"],
        [[t(g.start), t(g.end), g.minutes] for g in r.coverage.longest_gaps],
        "gaps",
    )
    t2 = _table(
        ["kind", "count", "dispositions"],
        [
            [k.kind, k.count, ", ".join(f"{d}: {n}" for d, n in k.dispositions.items())]
            for k in r.violations_by_kind
        ],
        "violations-by-kind",
    )
    t3 = _table(
        ["alert", "kind", "severity", "started", "status", "disposition", "note"],
        [
            [
                a.id,
                a.kind,
                a.severity,
                t(a.started_at),
                a.status,
                a.disposition or "",
                a.resolution_note or "",
            ]
            for a in r.alerts
        ],
        "violations",
    )
    t4 = _table(
        ["permit", "status", "reason", "from", "to", "ended early", "adherence"],
        [
            [
                p.id,
                p.status,
                p.reason,
                t(p.window_start),
                t(p.window_end),
                t(p.ended_at) if p.ended_at else "",
                p.adherence,
            ]
            for p in r.leave_permits
        ],
        "permits",
    )
    t5 = _table(
        ["deposit", "kind", "status", "amount", "held", "forfeited", "to victim", "returned"],
        [
            [
                d.id,
                d.kind,
                d.status,
                d.amount_fen,
                d.held_fen,
                d.forfeited_fen,
                d.released_fen,
                d.returned_fen,
            ]
            for d in r.deposits
        ],
        "deposits",
    )
    share = "n/a" if r.coverage.share is None else f"{r.coverage.share:.1%}"
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Compliance {escape(r.case_number)}</title>
<style>{_STYLE}</style></head><body>
<h1>羁押必要性审查 · Compliance report — case {escape(r.case_number)} ({escape(r.measure)})</h1>
<p>Range {t(r.range_from)} – {t(r.range_to)} ({escape(r.timezone)});
 generated {t(r.generated_at)}.</p>
<p>Code <span id="code" class="code" style="background:{colour}">{r.code.value.upper()}</span>
 score <b id="score">{r.score}</b>/100</p>
<h2>Score</h2>
{t0}
<h2>Map</h2>
{svg_map(data)}
<h2>Coverage</h2>
<p>{r.coverage.received_fixes} of {r.coverage.expected_fixes} expected fixes ({share});
 {r.minutes_outside_permitted} min certainly outside permitted areas;
 {r.minutes_uncertain} min uncertain.</p>
{t1}
<h2>Violations and dispositions</h2>
{t2}
{t3}
<h2>Leave permits</h2>
{t4}
<h2>Deposits (fen)</h2>
{t5}
</body></html>
"""
