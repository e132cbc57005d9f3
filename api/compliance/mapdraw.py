"""The report's maps as drawings (shapes in pixels) ready for ``templates/map.svg.j2``. Pure.

The main map shows the whole track with the case's own zones (the permitted city/county is
context, clipped to the view, not a reason to zoom out to it); an inset per violation shows its
evidence fixes and the zone of its rule. Zones are drawn first, translucent, then the track,
then uncertain fixes as disks of their accuracy radius, then violating fixes as markers on top,
so a marker never hides a zone. No basemap tiles: the report must render on an offline intranet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from api.compliance.mapgeom import Bounds, Frame, distance_text, scale_bar, view_bounds
from api.tracks.analysis import BoolArray, FloatArray, RuleZone
from geofence.geodesy import LocalProjection
from geofence.models import ZoneKind

#: Most vertices of a drawn track line (simplified at one pixel first).
MAX_TRACK_VERTICES = 3000
#: Most violation markers and uncertainty disks drawn (evenly thinned beyond: a PDF with half a
#: million circles helps nobody; the counts are in the tables).
MAX_MARKERS = 1500
MAX_DISKS = 400
#: Rule kinds whose zone the wearer must stay out of (drawn red); the others are permitted areas.
EXCLUSION_RULES = frozenset({"stay_outside", "keep_away_from"})
#: Rule kinds whose zone is context (a city or county): not zoomed to when there is a track.
CONTEXT_RULES = frozenset({"stay_inside"})
#: Pixels a zone label needs above a zone's top edge.
LABEL_ROOM = 16.0


@dataclass(frozen=True)
class ProjectedZone:
    """A zone in projected metres (circles and corridors already buffered)."""

    geometry: BaseGeometry
    exclusion: bool
    label: str
    context: bool


@dataclass(frozen=True)
class ZoneShape:
    d: str
    css: str
    label: str
    lx: float
    ly: float


@dataclass(frozen=True)
class Mark:
    cx: float
    cy: float
    r: float
    title: str = ""


@dataclass(frozen=True)
class Drawing:
    """Everything ``map.svg.j2`` draws, in pixels."""

    width: int
    height: int
    ident: str
    zones: list[ZoneShape] = field(default_factory=list)
    track: str = ""
    disks: list[Mark] = field(default_factory=list)
    markers: list[Mark] = field(default_factory=list)
    scale_px: float = 0.0
    scale_label: str = ""
    empty: bool = True


def project_zones(
    zones: Sequence[RuleZone], proj: LocalProjection, labels: Callable[[RuleZone], str]
) -> list[ProjectedZone]:
    """The case's zones in ``proj`` metres, each with its label."""

    def fwd(c: np.ndarray) -> np.ndarray:
        x, y = proj.forward(c[:, 0], c[:, 1])
        return np.column_stack((x, y))

    out = []
    for rz in zones:
        geom = shapely.transform(rz.zone.geometry, fwd)
        if rz.zone.kind is ZoneKind.CIRCLE and rz.zone.radius_m:
            geom = shapely.buffer(geom, rz.zone.radius_m, quad_segs=16)
        elif rz.zone.kind is ZoneKind.CORRIDOR and rz.zone.width_m:
            geom = shapely.buffer(geom, rz.zone.width_m / 2)
        out.append(
            ProjectedZone(geom, rz.kind in EXCLUSION_RULES, labels(rz), rz.kind in CONTEXT_RULES)
        )
    return out


def thin(idx: np.ndarray, most: int) -> np.ndarray:
    """At most ``most`` of ``idx``, evenly spaced, first and order kept."""
    if idx.size <= most:
        return idx
    return idx[np.linspace(0, idx.size - 1, most).round().astype(np.int64)]


def _bounds(
    x: FloatArray, y: FloatArray, zones: Sequence[ProjectedZone], *, edge: bool
) -> Bounds | None:
    """What matters: the fixes and the zones that are not mere context (all zones if no fix);
    with ``edge``, also the point of each context zone's boundary nearest the fixes (an inset
    of a departure shows how far outside the permitted area the evidence was)."""
    coords = [shapely.get_coordinates(z.geometry) for z in zones if not (x.size and z.context)]
    if edge and x.size:
        centre = shapely.Point(float(np.mean(x)), float(np.mean(y)))
        for z in zones:
            if z.context and not z.geometry.is_empty:
                near = shapely.shortest_line(shapely.boundary(z.geometry), centre)
                coords.append(shapely.get_coordinates(near)[:1])
    xs = np.concatenate([x, *(c[:, 0] for c in coords)])
    ys = np.concatenate([y, *(c[:, 1] for c in coords)])
    return view_bounds(xs, ys)


def _path(geom: BaseGeometry, frame: Frame) -> str:
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            c = np.asarray(ring.coords)
            px, py = frame.px(c[:, 0], c[:, 1])
            parts.append("M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True)))
    return " Z ".join(parts) + (" Z" if parts else "")


def _zone_shapes(zones: Sequence[ProjectedZone], frame: Frame) -> list[ZoneShape]:
    v = frame.visible.grown(frame.visible.width * 0.05)
    out = []
    for z in zones:
        clipped = shapely.clip_by_rect(z.geometry, v.x0, v.y0, v.x1, v.y1)
        if clipped.is_empty:
            continue
        clipped = shapely.simplify(clipped, 0.5 / frame.k)
        lx, ly = _label_spot(clipped, frame)
        css = "zone-outside" if z.exclusion else "zone-inside"
        out.append(ZoneShape(_path(clipped, frame), css, z.label, lx, ly))
    # Exclusion zones last: a small zone is never painted over by a large one.
    return sorted(out, key=lambda s: s.css == "zone-outside")


def _label_spot(geom: BaseGeometry, frame: Frame) -> tuple[float, float]:
    """Where a zone's label goes (pixels): centred just above the zone's visible top edge, or
    just inside it when the zone reaches the top of the map; never over the zone's middle,
    where the fixes that matter are."""
    v = frame.visible
    seen = shapely.clip_by_rect(geom, v.x0, v.y0, v.x1, v.y1)
    x0, _, x1, y1 = (seen if not seen.is_empty else geom).bounds
    (lx,), (top,) = frame.px(np.array([(x0 + x1) / 2]), np.array([y1]))
    ly = top - 5 if top > LABEL_ROOM else top + LABEL_ROOM
    return float(min(max(lx, 60.0), frame.width - 60.0)), float(ly)


def _track_line(x: FloatArray, y: FloatArray, frame: Frame) -> str:
    if x.size == 0:
        return ""
    px, py = frame.px(x, y)
    # A year of fixes at one a minute is half a million points on a few hundred pixels: drop
    # each fix that lands on the same pixel as the one before it (exact at this scale) before
    # simplifying at one pixel.
    cell = np.floor(px) * 1e6 + np.floor(py)
    keep = np.ones(cell.size, dtype=bool)
    keep[1:] = cell[1:] != cell[:-1]
    keep[-1] = True
    px, py = px[keep], py[keep]
    if px.size == 1:
        px, py = np.repeat(px, 2), np.repeat(py, 2)
    line = shapely.simplify(shapely.linestrings(px, py), 1.0, preserve_topology=False)
    c = shapely.get_coordinates(line)
    c = c[thin(np.arange(len(c)), MAX_TRACK_VERTICES)]
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(c[:, 0], c[:, 1], strict=True))


def draw(
    *,
    ident: str,
    width: int,
    height: int,
    x: FloatArray,
    y: FloatArray,
    radius_m: FloatArray,
    uncertain: BoolArray,
    violation: BoolArray,
    zones: Sequence[ProjectedZone],
    title: Callable[[int], str],
    focus: BoolArray | None = None,
) -> Drawing:
    """One map: fixes ``x, y`` (m) with their disk radii, which are uncertain and which violate,
    the zones, a title per fix index. ``focus`` (default: all fixes) chooses the fixes the view
    is fitted to, for an inset; the view always includes the zones that are not context."""
    keep = np.ones(x.size, dtype=bool) if focus is None else focus
    bounds = _bounds(x[keep], y[keep], zones, edge=focus is not None)
    if bounds is None:
        return Drawing(width, height, ident)
    frame = Frame(bounds, width, height)
    metres, px_len = scale_bar(1.0 / frame.k, width / 4)
    v = frame.visible
    near = (x >= v.x0) & (x <= v.x1) & (y >= v.y0) & (y <= v.y1)
    disks = []
    for i in thin(np.flatnonzero(uncertain & ~violation & near), MAX_DISKS):
        (cx,), (cy,) = frame.px(x[i : i + 1], y[i : i + 1])
        disks.append(Mark(float(cx), float(cy), max(float(radius_m[i]) * frame.k, 1.5)))
    markers = []
    for i in thin(np.flatnonzero(violation & near), MAX_MARKERS):
        (cx,), (cy,) = frame.px(x[i : i + 1], y[i : i + 1])
        markers.append(Mark(float(cx), float(cy), 3.0, title(int(i))))
    return Drawing(
        width=width,
        height=height,
        ident=ident,
        zones=_zone_shapes(zones, frame),
        track=_track_line(x, y, frame),
        disks=disks,
        markers=markers,
        scale_px=round(px_len, 1),
        scale_label=distance_text(metres),
        empty=False,
    )
