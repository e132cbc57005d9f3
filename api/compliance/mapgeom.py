"""Pure geometry of the report's maps: what to show, where it lands on the page, how long the
scale bar is. Coordinates are metres of a local transverse Mercator (``geofence.geodesy``), x east,
y north; pixels are SVG user units, y down. No drawing and no text here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from api.tracks.analysis import FloatArray

#: Smallest extent of a view (m): a defendant who stayed home is still shown with a street's
#: worth of context, not zoomed into one metre of GPS noise.
MIN_SPAN_M = 500.0
#: Margin around what matters, as a fraction of its extent on each side.
PAD_FRACTION = 0.08
#: Scale bar lengths are 1, 2 or 5 times a power of ten metres.
_NICE = (1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Bounds:
    """An axis-aligned box in projected metres."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def grown(self, metres: float) -> Bounds:
        return Bounds(self.x0 - metres, self.y0 - metres, self.x1 + metres, self.y1 + metres)


def view_bounds(
    xs: FloatArray, ys: FloatArray, *, min_span_m: float = MIN_SPAN_M, pad: float = PAD_FRACTION
) -> Bounds | None:
    """The box showing every point given (finite ones), at least ``min_span_m`` on each side
    and padded by ``pad`` of its extent; None when there is no point."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return None
    x, y = xs[ok], ys[ok]
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max(x1 - x0, min_span_m) / 2 * (1 + 2 * pad)
    half_h = max(y1 - y0, min_span_m) / 2 * (1 + 2 * pad)
    return Bounds(cx - half_w, cy - half_h, cx + half_w, cy + half_h)


@dataclass(frozen=True)
class Frame:
    """Maps projected metres into a ``width`` x ``height`` pixel box: north up, one scale on
    both axes (``k`` pixels per metre), the bounds centred."""

    bounds: Bounds
    width: float
    height: float

    @property
    def k(self) -> float:
        return min(self.width / self.bounds.width, self.height / self.bounds.height)

    @property
    def visible(self) -> Bounds:
        """The metres the whole pixel box shows (at least ``bounds``)."""
        cx = (self.bounds.x0 + self.bounds.x1) / 2
        cy = (self.bounds.y0 + self.bounds.y1) / 2
        hw, hh = self.width / self.k / 2, self.height / self.k / 2
        return Bounds(cx - hw, cy - hh, cx + hw, cy + hh)

    def px(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Pixel coordinates of projected points."""
        v = self.visible
        return (np.asarray(x) - v.x0) * self.k, (v.y1 - np.asarray(y)) * self.k


def scale_bar(metres_per_px: float, max_px: float) -> tuple[float, float]:
    """(metres, pixels) of the longest 1/2/5 x 10^n metre bar not longer than ``max_px``."""
    if metres_per_px <= 0 or max_px <= 0:
        raise ValueError("scale_bar needs positive metres per pixel and length")
    limit = metres_per_px * max_px
    exp = math.floor(math.log10(limit))
    best = 0.0
    for e in (exp - 1, exp):
        for n in _NICE:
            m = n * 10.0**e
            if m <= limit * (1 + 1e-12):
                best = max(best, m)
    return best, best / metres_per_px


def distance_text(metres: float) -> str:
    """ "500 m", "2 km", "0.5 m": a scale bar's label (units are international symbols)."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"
