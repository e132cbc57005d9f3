"""The shortcuts the 12-month report takes give what the general code gives: text columns of
one value throughout, the defendant's fixes of a one-watch track, coverage of a track already in
time order, the masks ``measure`` returns (one zone check serves the score, the permits' return
check and the map), a circle related only near it, and the page for the PDF."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from api.compliance import coverage, measure, report
from api.compliance.service import defendant_only
from api.tracks.analysis import RuleZone, Track, relate, relate_circle, unpack_text
from geofence.relation import INSIDE, OUTSIDE, UNCERTAIN, relate_circles
from geofence.zones import parse_zone
from tests.unit.api.test_report_render import HEADER
from tests.unit.api.test_report_render import _data as render_data

T0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000

texts = st.text(alphabet="ab\n", max_size=4)


@given(values=st.lists(texts, max_size=20), n=st.integers(0, 22))
def test_unpack_text_is_split_or_none(values: list[str], n: int) -> None:
    joined = "\n".join(values)
    parts = joined.split("\n") if n else []
    assert unpack_text(joined, n) == (parts if len(parts) == n or n == 0 else None)


@given(value=texts, n=st.integers(1, 30))
def test_one_value_throughout_is_unpacked_whole(value: str, n: int) -> None:
    joined = "\n".join([value] * n)
    expected = joined.split("\n")
    assert unpack_text(joined, n) == (expected if len(expected) == n else None)


def _track(t_ms: list[int], devices: list[str], lon: list[float] | None = None) -> Track:
    n = len(t_ms)
    return Track(
        device_id=devices,
        t_ms=np.array(t_ms, dtype=np.int64),
        seq=np.arange(n, dtype=np.int64),
        lon=np.array(lon if lon is not None else [118.5] * n, dtype=np.float64),
        lat=np.full(n, 37.45),
        acc=np.full(n, 10.0),
        src=["gnss"] * n,
        verdict=np.zeros(n, dtype=np.int8),
    )


def _general(track: Track, windows: list[tuple[str, int, int]]) -> list[int]:
    """The fixes a reference keeps: each checked against every window."""
    return [
        i
        for i in range(len(track))
        if any(track.device_id[i] == d and a <= track.t_ms[i] < b for d, a, b in windows)
    ]


window = st.tuples(st.sampled_from(["W-1", "W-2"]), st.integers(-5, 60), st.integers(0, 60)).map(
    lambda w: (w[0], T0 + w[1] * MIN, T0 + (w[1] + w[2]) * MIN)
)


@settings(max_examples=300, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 50), max_size=40),
    device=st.sampled_from(["W-1", "W-2"]),
    mixed=st.booleans(),
    ordered=st.booleans(),
    windows=st.lists(window, max_size=4),
)
def test_defendant_only_keeps_the_fixes_inside_a_window_of_their_device(
    offsets: list[int],
    device: str,
    mixed: bool,
    ordered: bool,
    windows: list[tuple[str, int, int]],
) -> None:
    t = [T0 + o * MIN for o in (sorted(offsets) if ordered else offsets)]
    devices = [("W-1" if i % 3 else "W-2") if mixed else device for i in range(len(t))]
    track = _track(t, devices)
    kept = defendant_only(track, windows)
    want = _general(track, windows)
    assert kept.t_ms.tolist() == [t[i] for i in want]
    assert kept.device_id == [devices[i] for i in want]
    assert kept.seq.tolist() == want


@settings(max_examples=200, deadline=None)
@given(
    ts=st.lists(st.integers(-100, 3000).map(lambda m: T0 + m * MIN // 3), max_size=200),
    thr=st.integers(1, 3600),
)
def test_coverage_of_a_sorted_track_equals_that_of_any_order(ts: list[int], thr: int) -> None:
    windows = [(T0, T0 + 500 * MIN), (T0 + 600 * MIN, T0 + 1000 * MIN)]
    ordered = np.array(sorted(ts), dtype=np.int64)
    shuffled = np.array(ts[::-1], dtype=np.int64)
    a, b = coverage.slots(ordered, windows, 60.0), coverage.slots(shuffled, windows, 60.0)
    assert a.covered_starts.tolist() == b.covered_starts.tolist()
    assert a.expected == b.expected
    assert coverage.silences(ordered, windows, thr) == coverage.silences(shuffled, windows, thr)


def _zones() -> list[RuleZone]:
    city = {
        "type": "Polygon",
        "coordinates": [
            [[118.4, 37.4], [118.6, 37.4], [118.6, 37.5], [118.4, 37.5], [118.4, 37.4]]
        ],
    }
    victim = {"type": "Point", "coordinates": [118.517, 37.45]}
    return [
        RuleZone(1, "stay_inside", parse_zone(1, city, datum="wgs84", name="city")),
        RuleZone(2, "stay_outside", parse_zone(2, victim, datum="wgs84", radius_m=300.0)),
    ]


@settings(max_examples=100, deadline=None)
@given(
    lons=st.lists(st.floats(118.35, 118.65), min_size=1, max_size=60),
    permits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=3),
)
def test_measure_masks_are_the_zone_relations(
    lons: list[float], permits: list[tuple[int, int]]
) -> None:
    # Fixes along the latitude of the victim's home: inside it, near its edge, out of the city.
    track = _track([T0 + i * MIN for i in range(len(lons))], ["W-1"] * len(lons), lons)
    zones = _zones()
    windows = [(T0 + a * MIN, T0 + (a + d) * MIN) for a, d in permits]
    m = measure.measure(track, zones, end_ms=T0, interval_s=60, permit_windows_ms=windows)
    city, victim = (relate(track, rz.zone) for rz in zones)
    wrong = (city == OUTSIDE) | (victim == INSIDE)
    assert m.wrong_mask.tolist() == wrong.tolist()
    assert m.uncertain_mask.tolist() == ((city == UNCERTAIN) | (victim == UNCERTAIN)).tolist()
    # Without permits the time outside is measured on exactly the wrong-side fixes.
    bare = measure.measure(track, zones, end_ms=T0, interval_s=60, permit_windows_ms=[])
    assert bare.outside_mask.tolist() == m.wrong_mask.tolist()
    excused = np.zeros(len(track), dtype=bool)
    for a, b in windows:
        excused |= (track.t_ms >= a) & (track.t_ms < b)
    assert m.outside_mask.tolist() == (wrong & ~excused).tolist()


def test_the_page_for_the_pdf_draws_the_same_without_tooltips() -> None:
    data, evidence = render_data()
    screen = report.render_html(data, HEADER, evidence, "zh").body
    paper = report.render_html(data, HEADER, evidence, "zh", tooltips=False).body
    assert screen.count("<title>") > 1  # the page's own title and the tooltips
    assert paper.count("<title>") == 1  # the page's own title only
    for tag in ("<circle", "<rect", "<polyline", "<path", "<text"):
        assert paper.count(tag) == screen.count(tag), tag
    assert (
        re.sub(r"<title>[^<]*</title>", "", screen.split("</head>", 1)[1])
        == paper.split("</head>", 1)[1]
    )


@settings(max_examples=300, deadline=None)
@given(
    centre=st.tuples(st.floats(-180, 180), st.floats(-89.9, 89.9)),
    circle_m=st.floats(1, 50_000),
    offsets=st.lists(
        st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.floats(0, 5_000)),
        min_size=1,
        max_size=50,
    ),
    scale=st.sampled_from([1e-4, 1e-2, 1.0]),
)
def test_one_circle_relation_equals_the_exact_one(
    centre: tuple[float, float],
    circle_m: float,
    offsets: list[tuple[float, float, float]],
    scale: float,
) -> None:
    lon0, lat0 = centre
    lon = np.array([lon0 + dx * scale for dx, _, _ in offsets])
    lat = np.clip(np.array([lat0 + dy * scale for _, dy, _ in offsets]), -90, 90)
    radius = np.array([r for _, _, r in offsets])
    n = lon.size
    exact = relate_circles(
        lon, lat, radius, np.full(n, lon0), np.full(n, lat0), np.full(n, circle_m)
    )
    assert relate_circle(lon, lat, radius, lon0, lat0, circle_m).tolist() == exact.tolist()
