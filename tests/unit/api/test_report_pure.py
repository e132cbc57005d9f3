"""Pure parts of the printable report: yuan formatting, map geometry (bounds, frame, scale bar),
the coverage chart, the integrity hashes, the message catalogue."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.kinds import AlertKind
from api.compliance import charts, integrity, mapgeom
from api.compliance.i18n import LANGS, words
from api.compliance.models import DayCoverage, GapOut
from api.compliance.money import yuan

FEN = st.integers(min_value=-(10**15), max_value=10**15)


@pytest.mark.parametrize(
    ("fen", "zh", "en"),
    [
        (1_000_000, "10,000.00元", "¥10,000.00"),
        (5_000_000, "50,000.00元", "¥50,000.00"),
        (0, "0.00元", "¥0.00"),
        (5, "0.05元", "¥0.05"),
        (123_456_789, "1,234,567.89元", "¥1,234,567.89"),
        (-150, "-1.50元", "-¥1.50"),
    ],
)
def test_yuan_examples(fen: int, zh: str, en: str) -> None:
    assert yuan(fen, "zh") == zh
    assert yuan(fen, "en") == en


@given(FEN)
def test_yuan_reads_back_to_the_same_fen(fen: int) -> None:
    for lang in LANGS:
        text = yuan(fen, lang)
        m = re.fullmatch(r"(-?)¥?(\d{1,3}(?:,\d{3})*)\.(\d{2})元?", text)
        assert m is not None, text
        back = int(m.group(2).replace(",", "")) * 100 + int(m.group(3))
        assert (-back if m.group(1) else back) == fen
        assert text.endswith("元") == (lang == "zh")


COORD = st.floats(min_value=-50_000, max_value=50_000, allow_nan=False)
POINTS = st.lists(st.tuples(COORD, COORD), min_size=1, max_size=40)


@given(POINTS, st.integers(100, 900), st.integers(80, 700))
def test_every_point_lands_in_the_frame_north_up(
    points: list[tuple[float, float]], width: int, height: int
) -> None:
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    b = mapgeom.view_bounds(xs, ys)
    assert b is not None
    assert b.width >= mapgeom.MIN_SPAN_M
    assert b.height >= mapgeom.MIN_SPAN_M
    assert b.x0 <= xs.min()
    assert xs.max() <= b.x1
    assert b.y0 <= ys.min()
    assert ys.max() <= b.y1
    frame = mapgeom.Frame(b, width, height)
    px, py = frame.px(xs, ys)
    eps = 1e-6
    assert np.all((px >= -eps) & (px <= width + eps) & (py >= -eps) & (py <= height + eps))
    # One scale on both axes, north up: a point 100 m north is 100 k pixels higher.
    (nx,), (ny,) = frame.px(xs[:1], ys[:1] + 100)
    assert math.isclose(py[0] - ny, 100 * frame.k, rel_tol=1e-9)
    assert math.isclose(nx, px[0], rel_tol=1e-9, abs_tol=1e-9)


def test_no_point_no_bounds() -> None:
    assert mapgeom.view_bounds(np.array([np.nan]), np.array([1.0])) is None
    assert mapgeom.view_bounds(np.zeros(0), np.zeros(0)) is None


@given(st.floats(0.01, 10_000), st.floats(20, 400))
def test_scale_bar_is_a_round_length_that_fits(metres_per_px: float, max_px: float) -> None:
    metres, px = mapgeom.scale_bar(metres_per_px, max_px)
    mantissa = metres / 10 ** math.floor(math.log10(metres) + 1e-9)
    assert any(math.isclose(mantissa, n, rel_tol=1e-9) for n in (1, 2, 5))
    assert px <= max_px * (1 + 1e-9)
    assert px > max_px / 2.5 - 1e-9  # the longest such bar: the next one up would not fit
    assert math.isclose(px * metres_per_px, metres, rel_tol=1e-9)


def test_scale_bar_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        mapgeom.scale_bar(0, 100)


@pytest.mark.parametrize(
    ("metres", "text"), [(500, "500 m"), (1000, "1 km"), (2000, "2 km"), (0.5, "0.5 m")]
)
def test_distance_text(metres: float, text: str) -> None:
    assert mapgeom.distance_text(metres) == text


SHARES = st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=400)


@given(SHARES)
def test_coverage_chart_bars_follow_the_shares(shares: list[float | None]) -> None:
    days = [
        DayCoverage(
            day=date(2026, 1, 1) + timedelta(days=i),
            expected_slots=0 if s is None else 1440,
            covered_slots=0 if s is None else round(1440 * s),
            share=s,
        )
        for i, s in enumerate(shares)
    ]
    chart = charts.coverage_chart(days)
    assert chart is not None
    assert len(chart.bars) == len(days)
    assert all(b.x + b.w <= chart.width + 1e-6 for b in chart.bars)
    assert all(0 <= b.h <= chart.base and math.isclose(b.y + b.h, chart.base) for b in chart.bars)
    for s, bar in zip(shares, chart.bars, strict=True):
        expected = (
            "day-none"
            if s is None
            else "day-good"
            if s >= charts.GOOD
            else "day-fair"
            if s >= charts.FAIR
            else "day-poor"
        )
        assert bar.css == expected
    heights = [b.h for s, b in sorted(zip(shares, chart.bars, strict=True), key=_share_key)]
    assert heights == sorted(heights)
    assert sum(1 for b in chart.bars if b.label) <= charts.MAX_LABELS


def _share_key(item: tuple[float | None, charts.Bar]) -> float:
    return -1.0 if item[0] is None else item[0]


def test_no_days_no_chart() -> None:
    assert charts.coverage_chart([]) is None


def test_data_hash_is_sha256_of_canonical_json() -> None:
    gap = GapOut(
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 1, 2, tzinfo=UTC),
        minutes=1440.0,
        limit_minutes=30.0,
    )
    canonical = integrity.canonical_json(gap)
    assert json.loads(canonical) == gap.model_dump(mode="json")
    assert b" " not in canonical
    assert canonical.index(b'"end"') < canonical.index(b'"minutes"')
    assert integrity.data_sha256(gap) == hashlib.sha256(canonical).hexdigest()
    changed = gap.model_copy(update={"minutes": 1439.9})
    assert integrity.data_sha256(changed) != integrity.data_sha256(gap)
    assert integrity.document_sha256(b"%PDF") == hashlib.sha256(b"%PDF").hexdigest()


def test_catalogues_say_the_same_things() -> None:
    zh, en = words("zh"), words("en")
    assert set(zh.words) == set(en.words)
    assert set(zh.labels) == set(en.labels)
    for kind in AlertKind:
        assert zh.kind(kind.value) != kind.value, f"no Chinese label for {kind.value}"
        assert en.kind(kind.value) == kind.value.replace("_", " ")
    assert zh.label("measure", "bail") == "取保候审"
    assert zh.label("measure", "residential_surveillance") == "监视居住"
    assert zh.label("status", "brand_new") == "brand new"  # unlisted: shown, never dropped
    assert zh.label("status", None) == ""
    with pytest.raises(AttributeError):
        _ = zh.no_such_word
