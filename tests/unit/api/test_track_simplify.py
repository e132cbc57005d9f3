"""Track simplification: Douglas-Peucker in metres keeps the first, last and violation fixes, and
the kept indices are exactly the vertices shapely keeps."""

from __future__ import annotations

import numpy as np
import shapely

from api.tracks.analysis import Track, project, simplify
from geofence.geodesy import local_projection


def _walk(n: int, seed: int = 11) -> Track:
    """A random walk of ``n`` fixes (~2 m steps) near Dongying, one a minute."""
    rng = np.random.default_rng(seed)
    return Track(
        device_id=["W-1"] * n,
        t_ms=np.arange(n, dtype=np.int64) * 60_000,
        seq=np.arange(n, dtype=np.int64),
        lon=118.5 + np.cumsum(rng.normal(0, 2e-5, n)),
        lat=37.45 + np.cumsum(rng.normal(0, 2e-5, n)),
        acc=np.full(n, 8.0),
        src=["gnss"] * n,
        verdict=np.zeros(n, dtype=np.int8),
    )


def test_kept_indices_are_the_kept_vertices() -> None:
    track = _walk(5_000)
    keep = np.zeros(len(track), dtype=bool)
    got = simplify(track, 25.0, keep)
    x, y = project(track)
    kept = shapely.get_coordinates(
        shapely.simplify(shapely.linestrings(x, y), 25.0, preserve_topology=False)
    )
    assert 2 < got.size < len(track) // 10
    assert np.array_equal(np.column_stack((x[got], y[got])), kept)
    assert (got[0], got[-1]) == (0, len(track) - 1)


def test_violation_fixes_are_always_kept() -> None:
    track = _walk(2_000)
    keep = np.zeros(len(track), dtype=bool)
    keep[[5, 700, 1_999]] = True
    got = simplify(track, 500.0, keep)
    assert {0, 5, 700, 1_999} <= set(got.tolist())
    assert np.all(np.diff(got) > 0)


def test_no_tolerance_or_tiny_tracks_keep_everything() -> None:
    for track, tolerance in ((_walk(50), 0.0), (_walk(2), 100.0), (_walk(0), 10.0)):
        keep = np.zeros(len(track), dtype=bool)
        assert simplify(track, tolerance, keep).tolist() == list(range(len(track)))


def test_projection_is_the_exact_one_to_the_millimetre() -> None:
    """The fast series near the centre, the exact algorithm for a track reaching farther."""
    near = _walk(3_000)
    far = _walk(3_000)
    far.lon[-1] = 118.5 + 15.0  # one fix 15 degrees east: beyond the fast series' span
    for track in (near, far):
        exact = local_projection(
            round(float(np.median(track.lon)), 3), round(float(np.median(track.lat)), 3)
        ).forward(track.lon, track.lat)
        x, y = project(track)
        assert np.hypot(x - exact[0], y - exact[1]).max() < 0.005
    assert np.array_equal(project(far)[0], exact[0])
