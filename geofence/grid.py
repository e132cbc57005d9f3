"""A raster over longitude/latitude that settles most fixes without projecting them.

Each cell of a regular lon/lat grid over a zone (plus a margin) stores a lower and an upper bound
of the signed distance (metres in the zone's local projection, positive inside) that any point of
the cell can have to the zone's boundary:

* the exact signed distance of the projected cell centre, computed once when the zone is compiled;
* plus or minus a *reach*: the largest projected distance from the cell centre to a cell corner,
  raised by ``REACH_MARGIN`` relative and ``REACH_SLACK_M`` absolute.

The signed distance is 1-Lipschitz in the projected plane, so the bounds hold for every point
whose projection lies within the reach of the centre's. A projection is smooth and a cell is a
few hundred metres at most, so its image is a parallelogram to within far less than a millimetre
and the farthest point of it from the centre is a corner; the 1% margin covers that many times
over. A fix disk of radius r is then certainly inside when ``low > r``, certainly outside when
``high < -r``, and certainly UNCERTAIN (the boundary within r) when ``-r <= low`` and
``high <= r``; anything else is left ``UNDECIDED`` for the exact test. A fix off the grid is at
least the grid's padding away from the zone's degree box, which settles smaller disks as outside.

Cells near the boundary are split into finer cells, which settle fixes closer to it. There the
bound is the fix's own distance from the fine cell's centre, not the cell's whole reach: with
``m_lon``, ``m_lat`` upper bounds of projected metres per degree over the grid
(``geodesy.projected_metres_per_degree``: the ellipsoid's radii of curvature over the grid's
latitudes, the projection's scale at the grid's farthest easting), a fix ``dlon``, ``dlat``
degrees from the centre is at most ``hypot(m_lon * dlon, m_lat * dlat)`` projected metres from
it, so ``|sd(fix) - sd(centre)|`` is at most that (raised by ``LIPSCHITZ_MARGIN`` relative and
``REACH_SLACK_M`` absolute, for rounding in the offsets and in pyproj). A fix near the centre
of its cell is thus judged almost as if its own signed distance were known.

The grid therefore never decides differently from the exact test, it only decides less often
(``tests/unit/geofence/test_fast_paths.py`` and ``test_grid_bound.py`` check this property).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from geofence.geodesy import FloatArray, projected_metres_per_degree, wrap_degrees
from geofence.prefilter import BOX_SLACK_M, M_PER_DEG_LAT_MIN, M_PER_DEG_LON_EQ

RelArray = npt.NDArray[np.int8]
Projector = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]
SignedDistance = Callable[[FloatArray, FloatArray], FloatArray]

UNDECIDED = np.int8(3)
"""Code of a disk the grid cannot settle (INSIDE=0, OUTSIDE=1, UNCERTAIN=2 as in ``relation``)."""
REFINE = 8
"""Cells near the boundary are split into REFINE x REFINE finer cells (8: a city's ~400 m
cells become ~50 m ones, which settles about a quarter more of the fixes near the line than 4
did, for ~0.4 s more compile time on a 1,500-vertex boundary). A power of two, so a position's
place within its cell is exact in fine cells."""
REFINE_BAND_M = 300.0
"""A cell is refined when the boundary may be within its reach plus this many metres."""
MAX_FINE_CELLS = 400_000
"""No refinement beyond this many fine cells (a bound on compile time and memory)."""
REACH_MARGIN = 0.01
"""Relative margin on a cell's reach (projected metres from its centre to its corners)."""
REACH_SLACK_M = 0.001
"""Absolute margin on a cell's reach and on a fix's distance from its fine cell's centre, metres
(covers rounding in the distance computations)."""
LIPSCHITZ_MARGIN = 1e-6
"""Relative margin on a fix's distance from its fine cell's centre (rounding in the offsets)."""
_M_PER_DEG = 111_320.0  # about one degree of latitude, metres; only sizes cells, never bounds


class DegreeGrid:
    """Signed-distance bounds per cell of a lon/lat grid, for codes as in ``relation``.

    ``bounds`` is the zone's degree box ``(lon_min, lat_min, lon_max, lat_max)``, longitudes in
    the zone's (possibly unwrapped, past +-180) frame; ``cells`` the number of cells along the
    longer side; ``margin_m`` how far (metres) the grid reaches beyond the box. ``project`` maps
    degrees to the zone's projected metres and ``signed_distance`` gives exact signed distances
    (metres, positive inside) there.
    ``refine`` splits the cells near the boundary (worth its compile time for large zones).
    """

    def __init__(
        self,
        bounds: tuple[float, float, float, float],
        cells: int,
        margin_m: float,
        project: Projector,
        signed_distance: SignedDistance,
        *,
        refine: bool = True,
    ) -> None:
        lon_min, lat_min, lon_max, lat_max = bounds
        cos_mid = math.cos(math.radians((lat_min + lat_max) / 2.0))
        pad_lat = margin_m / _M_PER_DEG
        pad_lon = pad_lat / max(cos_mid, 0.05)
        lon_min, lon_max = lon_min - pad_lon, lon_max + pad_lon
        lat_min, lat_max = lat_min - pad_lat, lat_max + pad_lat
        extent_m = max((lon_max - lon_min) * cos_mid, lat_max - lat_min) * _M_PER_DEG
        side_m = max(extent_m / cells, 1.0)
        self.dlat = side_m / _M_PER_DEG
        self.dlon = self.dlat / max(cos_mid, 0.05)
        self.lon0, self.lat0 = lon_min, lat_min
        self.lon_mid = (lon_min + lon_max) / 2.0
        self.nx = max(math.ceil((lon_max - lon_min) / self.dlon), 1)
        self.ny = max(math.ceil((lat_max - lat_min) / self.dlat), 1)
        node_lon = self.lon0 + np.arange(self.nx + 1) * self.dlon
        node_lat = self.lat0 + np.arange(self.ny + 1) * self.dlat
        gx, gy = np.meshgrid(node_lon, node_lat)
        sd, reach = _cell_bounds(gx, gy, project, signed_distance)
        # Any point of the grid is within two reaches of a node, so of the nodes' eastings.
        x_far = float(np.abs(project(gx.ravel(), gy.ravel())[0]).max() + 2.0 * reach.max())
        lat_end = self.lat0 + self.ny * self.dlat
        m_lon, m_lat = projected_metres_per_degree(self.lat0, lat_end, x_far)
        self.fine_sx = m_lon * self.dlon / REFINE * (1.0 + LIPSCHITZ_MARGIN)
        """Metres per fine cell along longitude, an upper bound (see the module docstring)."""
        self.fine_sy = m_lat * self.dlat / REFINE * (1.0 + LIPSCHITZ_MARGIN)
        """Metres per fine cell along latitude, an upper bound."""
        # A border of cells catches positions off the grid: they are at least the padding away
        # from the zone's box, so they are outside any disk smaller than that (judged with the
        # same lower bounds of metres per degree as ``prefilter.far_from_boxes``).
        lat_top = max(abs(self.lat0), abs(self.lat0 + self.ny * self.dlat))
        cos_low = math.cos(math.radians(min(lat_top, 90.0)))
        clear = 0.99 * min(pad_lat * M_PER_DEG_LAT_MIN, pad_lon * M_PER_DEG_LON_EQ * cos_low)
        self.low = np.pad(sd - reach, 1, constant_values=-np.inf).ravel()
        high = np.pad(sd + reach, 1, constant_values=-(clear - BOX_SLACK_M))
        self.high = high.ravel()
        self._refine(sd, reach, project, signed_distance, refine=refine)
        self.u_scale = 1.0 / self.dlon
        self.u_shift = (self.lon_mid - self.lon0) / self.dlon + 1.0
        self.v_scale = 1.0 / self.dlat
        self.v_shift = 1.0 - self.lat0 / self.dlat

    def _refine(
        self,
        sd: FloatArray,
        reach: FloatArray,
        project: Projector,
        distance: SignedDistance,
        *,
        refine: bool,
    ) -> None:
        """Split the cells near the boundary into ``REFINE`` x ``REFINE`` finer cells.

        ``fine_base`` maps a (padded) cell to the first of its fine cells, or -1; ``fine_sd``
        holds the fine cells' centre signed distances (metres, row by row).
        """
        band = np.flatnonzero((np.abs(sd) <= reach + REFINE_BAND_M).ravel())
        if not refine or band.size * REFINE * REFINE > MAX_FINE_CELLS:
            band = band[:0]
        iy, ix = np.divmod(band, self.nx)
        steps = np.arange(REFINE + 1) / REFINE
        lon = self.lon0 + (ix[:, None, None] + steps[None, None, :]) * self.dlon
        lat = self.lat0 + (iy[:, None, None] + steps[None, :, None]) * self.dlat
        lon, lat = np.broadcast_arrays(lon, lat)
        self.fine_sd = _cell_bounds(lon, lat, project, distance)[0].ravel()
        self.fine_base = np.full(self.low.size, -1, dtype=np.int64)
        self.fine_base[(iy + 1) * (self.nx + 2) + ix + 1] = np.arange(band.size) * REFINE**2
        self._fine = _fine_table(self, 0)

    def classify(self, lon: FloatArray, lat: FloatArray, radius: FloatArray) -> RelArray:
        """Relation codes of disks (degrees centre, ``radius`` metres), or ``UNDECIDED``.

        Positions off the grid land on a border of cells that settle only disks clear of the zone.
        """
        u = wrap_degrees(lon - self.lon_mid) * self.u_scale + self.u_shift
        u = u.clip(0.0, self.nx + 1.0)
        v = (lat * self.v_scale + self.v_shift).clip(0.0, self.ny + 1.0)
        cell = v.astype(np.int64) * (self.nx + 2) + u.astype(np.int64)
        out = _codes(self.low.take(cell), self.high.take(cell), radius)
        return _refined(out, cell, u, v, radius, self._fine, self.fine_sd)


def _cell_bounds(
    node_lon: FloatArray, node_lat: FloatArray, project: Projector, distance: SignedDistance
) -> tuple[FloatArray, FloatArray]:
    """Signed distance at the centre and reach of cells given by their nodes (degrees).

    Nodes are arrays of shape (..., rows + 1, columns + 1); the results have shape
    (..., rows, columns), in metres.
    """
    px, py = project(node_lon.ravel(), node_lat.ravel())
    px, py = px.reshape(node_lon.shape), py.reshape(node_lon.shape)
    c_lon = (node_lon[..., :-1, :-1] + node_lon[..., 1:, 1:]) / 2.0
    c_lat = (node_lat[..., :-1, :-1] + node_lat[..., 1:, 1:]) / 2.0
    qx, qy = project(c_lon.ravel(), c_lat.ravel())
    qx, qy = qx.reshape(c_lon.shape), qy.reshape(c_lon.shape)
    reach = np.zeros(c_lon.shape)
    for sy in (slice(None, -1), slice(1, None)):
        for sx in (slice(None, -1), slice(1, None)):
            corner = np.hypot(px[..., sy, sx] - qx, py[..., sy, sx] - qy)
            reach = np.maximum(reach, corner)
    reach = reach * (1.0 + REACH_MARGIN) + REACH_SLACK_M
    sd = distance(qx.ravel(), qy.ravel()).reshape(c_lon.shape) if qx.size else np.zeros(qx.shape)
    return sd, reach


def _refined(
    out: RelArray,
    cell: npt.NDArray[np.int64],
    u: FloatArray,
    v: FloatArray,
    radius: FloatArray,
    fine: FloatArray,
    fine_sd: FloatArray,
) -> RelArray:
    """Settle ``UNDECIDED`` codes of positions (cell coordinates u, v) in refined cells.

    ``fine`` is ``_fine_table``'s row per (padded) cell, ``fine_sd`` the fine cells' centre
    signed distances. A position's bounds are its fine cell's centre signed distance +- its
    distance from that centre.
    """
    idx = (out == UNDECIDED).nonzero()[0]
    if not idx.size:
        return out
    info = fine.take(cell[idx], axis=0)
    keep = (info[:, 0] >= 0.0).nonzero()[0]
    if not keep.size:
        return out
    idx, info = idx[keep], info[keep]
    # (column, row) within the coarse cell, in fine cells: exact, as REFINE is a power of two
    at = np.column_stack((u[idx], v[idx]))
    at -= np.floor(at)
    at *= REFINE
    col_row = np.minimum(at.astype(np.int64), REFINE - 1)
    # offsets from the fine cell's centre times metres per fine cell (east, north)
    at -= col_row
    at -= 0.5
    at *= info[:, 1:]
    apart = np.hypot(at[:, 0], at[:, 1]) + REACH_SLACK_M
    sub = info[:, 0].astype(np.int64) + col_row[:, 1] * REFINE + col_row[:, 0]
    out[idx] = _lipschitz_codes(fine_sd.take(sub), apart, radius[idx])
    return out


def _fine_table(grid: DegreeGrid, offset: int) -> FloatArray:
    """Per (padded) cell of ``grid``: its first fine cell plus ``offset`` (-1 if none) and the
    metres per fine cell along longitude and latitude, as floats (one row gathered per fix)."""
    base = np.where(grid.fine_base >= 0, grid.fine_base + offset, -1).astype(np.float64)
    table = np.empty((base.size, 3))
    table[:, 0], table[:, 1], table[:, 2] = base, grid.fine_sx, grid.fine_sy
    return table


def _lipschitz_codes(sd: FloatArray, apart: FloatArray, radius: FloatArray) -> RelArray:
    """``_codes`` of the bounds ``sd - apart`` and ``sd + apart`` (all metres)."""
    reach = radius + apart
    inside = (sd > reach).view(np.int8)
    outside = (sd < -reach).view(np.int8)
    within = (np.abs(sd) <= radius - apart).view(np.int8)
    return np.asarray(UNDECIDED - 3 * inside - 2 * outside - within, dtype=np.int8)


def _codes(low: FloatArray, high: FloatArray, radius: FloatArray) -> RelArray:
    """Codes from signed-distance bounds: INSIDE (0) when ``low > radius``, OUTSIDE (1) when
    ``high < -radius``, UNCERTAIN (2) when ``-radius <= low`` and ``high <= radius`` (the
    boundary is within ``radius`` wherever in the cell the centre is), else ``UNDECIDED``."""
    inside = (low > radius).view(np.int8)
    outside = (high < -radius).view(np.int8)
    within = ((low >= -radius) & (high <= radius)).view(np.int8)
    return np.asarray(UNDECIDED - 3 * inside - 2 * outside - within, dtype=np.int8)


class GridStack:
    """Several ``DegreeGrid``s in one table, so pairs of many zones are classified in one pass."""

    def __init__(self, grids: Sequence[DegreeGrid]) -> None:
        sizes = [g.low.size for g in grids]
        self.low = np.concatenate([g.low for g in grids]) if grids else np.zeros(0)
        self.high = np.concatenate([g.high for g in grids]) if grids else np.zeros(0)
        self.offset = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.lon_mid = np.array([g.lon_mid for g in grids])
        self.u_scale = np.array([g.u_scale for g in grids])
        self.u_shift = np.array([g.u_shift for g in grids])
        self.v_scale = np.array([g.v_scale for g in grids])
        self.v_shift = np.array([g.v_shift for g in grids])
        self.u_max = np.array([g.nx + 1.0 for g in grids])
        self.v_max = np.array([g.ny + 1.0 for g in grids])
        self.stride = np.array([g.nx + 2 for g in grids], dtype=np.int64)
        fine_sizes = [g.fine_sd.size for g in grids]
        fine_offset = np.cumsum([0, *fine_sizes[:-1]]).astype(np.int64)
        self.fine_sd = np.concatenate([g.fine_sd for g in grids]) if grids else np.zeros(0)
        self.fine = (
            np.concatenate([_fine_table(g, o) for g, o in zip(grids, fine_offset, strict=True)])
            if grids
            else np.zeros((0, 3))
        )

    def classify(
        self, which: npt.NDArray[np.int64], lon: FloatArray, lat: FloatArray, radius: FloatArray
    ) -> RelArray:
        """``DegreeGrid.classify`` of each position against grid ``which`` (index in the stack)."""
        u = wrap_degrees(lon - self.lon_mid[which]) * self.u_scale[which] + self.u_shift[which]
        v = lat * self.v_scale[which] + self.v_shift[which]
        u = np.minimum(np.maximum(u, 0.0, out=u), self.u_max[which], out=u)
        v = np.minimum(np.maximum(v, 0.0, out=v), self.v_max[which], out=v)
        col, row = u.astype(np.int64), v.astype(np.int64)
        cell = self.offset[which] + row * self.stride[which] + col
        out = _codes(self.low.take(cell), self.high.take(cell), radius)
        return _refined(out, cell, u, v, radius, self.fine, self.fine_sd)
