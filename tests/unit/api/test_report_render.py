"""The printable page rendered from a report model (no database): valid HTML, hostile text
escaped everywhere, the map zoomed to the track and the zones with markers over the zones, the
insets, amounts in yuan, both languages. The real path is in tests/integration/api/
test_report_document.py; this checks the page itself against hand-checkable inputs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import html5lib
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from api.compliance import document, integrity, mapdraw, report
from api.compliance.document import AlertEvidence, Header
from api.compliance.i18n import Lang
from api.compliance.models import (
    AlertLine,
    ComplianceReport,
    Coverage,
    DayCoverage,
    DepositLine,
    KindSummary,
    PointOut,
)
from api.compliance.score import Code
from api.compliance.service import ReportData
from api.tracks.analysis import RuleZone, Track
from geofence.zones import parse_zone

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>&<b>"
T0 = datetime(2026, 11, 5, tzinfo=UTC)
N = 240
#: Fixes 100..109 sit at the centre of the victim's 300 m exclusion circle.
INSIDE_VICTIM = range(100, 110)
#: Fixes 150..159 have a 600 m accuracy across the city boundary: uncertain.
UNCERTAIN = range(150, 160)


def _data() -> tuple[ReportData, list[AlertEvidence]]:
    rng = np.random.default_rng(3)
    lon = 118.50 + np.cumsum(rng.normal(0, 2e-4, N))
    lat = 37.45 + np.cumsum(rng.normal(0, 2e-4, N))
    lon[list(INSIDE_VICTIM)], lat[list(INSIDE_VICTIM)] = 118.52, 37.45
    lon[list(UNCERTAIN)], lat[list(UNCERTAIN)] = 118.70, 37.45
    acc = np.full(N, 10.0)
    acc[list(UNCERTAIN)] = 600.0
    t_ms = np.arange(N, dtype=np.int64) * 60_000 + int(T0.timestamp() * 1000)
    track = Track(
        ["W"] * N, t_ms, np.arange(N, dtype=np.int64), lon, lat, acc, ["gnss"] * N,
        np.zeros(N, dtype=bool),
    )  # fmt: skip
    ring = [[118.3, 37.25], [118.7, 37.25], [118.7, 37.65], [118.3, 37.65], [118.3, 37.25]]
    city = parse_zone(
        1, {"type": "Polygon", "coordinates": [ring]}, datum="wgs84", radius_m=None,
        width_m=None, name=HOSTILE,
    )  # fmt: skip
    victim = parse_zone(
        2, {"type": "Point", "coordinates": [118.52, 37.45]}, datum="wgs84", radius_m=300,
        width_m=None, name="被害人住所",
    )  # fmt: skip
    zones = [RuleZone(11, "stay_inside", city), RuleZone(12, "stay_outside", victim)]
    mask = np.zeros(N, dtype=bool)
    mask[list(INSIDE_VICTIM)] = True
    mask[150] = True  # cited by the location-uncertain alert only: not a violation marker
    alert = AlertLine(
        id=5, kind="entered_exclusion_zone", severity="critical", status="resolved",
        started_at=T0 + timedelta(minutes=100), disposition="violation_confirmed",
        resolution_note=HOSTILE,
    )  # fmt: skip
    day = DayCoverage(day=date(2026, 11, 5), expected_slots=240, covered_slots=240, share=1.0)
    deposit = DepositLine(
        id=1, kind="bail", status="held", amount_fen=1_000_000, held_fen=1_000_000,
        forfeited_fen=0, released_fen=0, returned_fen=0,
    )  # fmt: skip
    by_kind = KindSummary(
        kind="entered_exclusion_zone", count=1, dispositions={"violation_confirmed": 1}
    )
    r = ComplianceReport(
        case_id=1, case_number=HOSTILE, measure="bail", timezone="Asia/Shanghai",
        range_from=T0, range_to=T0 + timedelta(hours=4), code=Code.red, score=75,
        points=[PointOut(points=0, reason=f"alert #5 {HOSTILE}", reason_zh=f"告警 #5 {HOSTILE}",
                        veto=True, row="breach_confirmed")],
        coverage=Coverage(
            interval_s=60.0, expected_fixes=N, received_fixes=N, fixes_stored=N, share=1.0,
            longest_gaps=[], gap_count=0, gap_minutes_total=0.0, days=[day],
        ),
        minutes_outside_permitted=10.0, minutes_uncertain=10.0, violations_by_kind=[by_kind],
        alerts=[alert], leave_permits=[], deposits=[deposit], generated_at=T0 + timedelta(hours=5),
    )  # fmt: skip
    cited = [("W", int(t_ms[i]), i) for i in INSIDE_VICTIM]
    evidence = [
        AlertEvidence(5, "entered_exclusion_zone", 12, cited),
        AlertEvidence(6, "location_uncertain", 11, [("W", int(t_ms[150]), 150)]),
    ]
    return ReportData(r, track, zones, mask, 1), evidence


HEADER = Header(HOSTILE, "东营区公安分局", "", "", HOSTILE, "police1", "东营区公安分局", HOSTILE)


def _parse(lang: Lang) -> tuple[str, Any]:
    data, evidence = _data()
    page = report.render_html(data, HEADER, evidence, lang).body
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return page, parser.parse(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_is_valid_and_escapes_hostile_text(lang: Lang) -> None:
    page, doc = _parse(lang)
    assert doc.findall(".//script") == []
    assert [b.get("id") for b in doc.findall(".//b")] == ["score"]
    assert doc.find(".//td[@id='defendant']").text == HOSTILE
    assert doc.find(".//td[@id='case-number']").text == HOSTILE
    assert page.count("&lt;script&gt;") >= 6  # name, number, reason, note, purpose, zone label
    assert doc.get("lang") == ("zh-CN" if lang == "zh" else "en")


def test_amounts_in_yuan_and_chinese_by_default() -> None:
    page, doc = _parse("zh")
    cells = [td.text for td in doc.findall(".//table[@id='deposits']/tbody/tr/td")]
    assert "10,000.00元" in cells
    assert "1000000" not in page
    assert doc.find(".//span[@id='code']").text == "红"
    assert "取保候审" in page
    assert "进入禁止区域" in page
    assert "确认违规" in page
    _, en = _parse("en")
    assert "¥10,000.00" in [td.text for td in en.findall(".//table[@id='deposits']/tbody/tr/td")]


def test_map_zooms_to_the_track_and_draws_markers_over_zones() -> None:
    _, doc = _parse("zh")
    svg = doc.find(f".//{SVG}svg[@id='map']")
    layers = [(el.tag.removeprefix(SVG), el.get("class")) for el in svg.iter()]
    order = [c for _, c in layers if c in ("zone-inside", "zone-outside", "track", "violation")]
    assert order.index("violation") > order.index("zone-outside") > order.index("zone-inside")
    assert order.index("track") > order.index("zone-outside")
    markers = svg.findall(f".//{SVG}circle[@class='violation']")
    assert len(markers) == len(INSIDE_VICTIM)  # fix 150 is only uncertain evidence
    assert len(svg.findall(f".//{SVG}circle[@class='uncertain']")) == len(UNCERTAIN)
    w, h = float(svg.get("width")), float(svg.get("height"))
    for m in markers:
        assert 0 <= float(m.get("cx")) <= w
        assert 0 <= float(m.get("cy")) <= h
    # The city (0.4 degrees, ~35 km) is context: the view is fitted to the ~10 km of track, so
    # the city's outline is clipped, not shown whole.
    city = svg.find(f".//{SVG}path[@class='zone-inside']")
    xs = [
        float(v.split(",")[0])
        for v in city.get("d").replace("M", " ").replace("L", " ").replace("Z", " ").split()
    ]
    assert min(xs) < 0 or max(xs) > w
    assert svg.find(f".//{SVG}g[@class='scale-bar']") is not None
    assert svg.find(f".//{SVG}g[@class='north-arrow']") is not None
    labels = [t.text for t in svg.findall(f".//{SVG}text[@class='zone-label']")]
    assert any("被害人住所" in t for t in labels)
    assert any(HOSTILE in t for t in labels)


def test_one_inset_per_violation_with_its_evidence_and_zone() -> None:
    _, doc = _parse("zh")
    inset = doc.find(".//figure[@id='inset-5']")
    assert inset is not None
    assert doc.find(".//figure[@id='inset-6']") is None
    svg = inset.find(f"{SVG}svg")
    assert len(svg.findall(f".//{SVG}circle[@class='violation']")) == len(INSIDE_VICTIM)
    zones = [p.get("class") for p in svg.findall(f".//{SVG}path") if p.get("class")]
    assert zones == ["zone-outside"]


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_malformed_evidence_is_skipped_never_raises(evidence: object) -> None:
    keys = document.evidence_keys(evidence)
    assert all(isinstance(k[1], int) for k in keys)


def test_evidence_keys_read_the_alerts_json() -> None:
    keys = document.evidence_keys(
        [{"device_id": "W", "fix_time": "2026-11-05T00:01:40+00:00", "seq": 3}, {"seq": "x"}]
    )
    assert keys == [("W", int(T0.timestamp() * 1000) + 100_000, 3)]


def test_footer_hash_is_of_the_data_not_of_when_it_was_made() -> None:
    data, evidence = _data()
    r = data.report
    digest = integrity.report_sha256(r)
    later = r.model_copy(update={"generated_at": r.generated_at + timedelta(days=3)})
    assert integrity.report_sha256(later) == digest
    assert integrity.report_sha256(r.model_copy(update={"score": 74})) != digest
    assert integrity.report_sha256(r) == integrity.data_sha256(r, exclude={"generated_at"})
    page = report.render_html(data, HEADER, evidence, "zh")
    assert page.data_sha256 == digest
    doc = html5lib.parse(page.body, namespaceHTMLElements=False)
    assert doc.find(".//span[@id='data-sha256']").text == digest


XY = st.floats(min_value=-20_000, max_value=20_000, allow_nan=False)


@given(
    st.lists(st.tuples(XY, XY, st.floats(0, 2000), st.booleans(), st.booleans()), max_size=30),
    st.lists(st.tuples(XY, XY, st.floats(1, 5000), st.booleans()), max_size=3),
)
def test_any_drawing_stays_in_its_frame(
    fixes: list[tuple[float, float, float, bool, bool]],
    circles: list[tuple[float, float, float, bool]],
) -> None:
    x = np.array([f[0] for f in fixes], dtype=np.float64)
    y = np.array([f[1] for f in fixes], dtype=np.float64)
    zones = [
        mapdraw.ProjectedZone(shapely.Point(cx, cy).buffer(r), excl, "z", ctx)
        for cx, cy, r, excl in circles
        for ctx in (not excl,)
    ]
    m = mapdraw.draw(
        ident="t", width=300, height=200, x=x, y=y,
        radius_m=np.array([f[2] for f in fixes], dtype=np.float64),
        uncertain=np.array([f[3] for f in fixes], dtype=bool),
        violation=np.array([f[4] for f in fixes], dtype=bool),
        zones=zones, title=str,
    )  # fmt: skip
    assert m.empty == (not fixes and not circles)
    for mark in [*m.markers, *m.disks]:
        assert -1e-6 <= mark.cx <= 300 + 1e-6
        assert -1e-6 <= mark.cy <= 200 + 1e-6
    assert len(m.markers) == sum(f[4] for f in fixes)
    assert len(m.disks) == sum(f[3] and not f[4] for f in fixes)
    if not m.empty:
        # The longest 1/2/5 bar that fits a quarter of the width: more than 1/2.5 of it, up to
        # rounding where the quarter is a nice length to the last bit (found: exactly 2.5x).
        assert 300 / 4 / 2.5 - 1e-6 < m.scale_px <= 300 / 4 + 1e-6
    for z in m.zones:
        assert 0 <= z.lx <= 300


def test_no_fix_and_no_zone_says_so() -> None:
    data, _ = _data()
    empty = Track(
        [], *(np.zeros(0, dtype=np.int64),) * 2, *(np.zeros(0),) * 3, [], np.zeros(0, dtype=bool)
    )
    blank = ReportData(data.report, empty, [], np.zeros(0, dtype=bool), 1)
    page = report.render_html(blank, HEADER, [], "zh").body
    doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    svg = doc.find(f".//{SVG}svg[@id='map']")
    assert "期间内无定位数据" in "".join(svg.itertext())
    assert svg.findall(f".//{SVG}circle") == []


def test_pdf_rendering_reads_no_file_or_url(caplog: pytest.LogCaptureFixture) -> None:
    page = '<p>报告</p><img src="file:///etc/hostname"><img src="http://example.invalid/x.png">'
    pdf = report.render_pdf(page)
    assert pdf.startswith(b"%PDF-")
    refused = [r.getMessage() for r in caplog.records if "loads no resource" in r.getMessage()]
    assert len(refused) == 2


def test_departure_inset_reaches_the_permitted_area_edge() -> None:
    """Evidence 2.7 km east of the city's edge: the inset shows the edge too, with the fixes."""
    data, _ = _data()
    t = data.track
    lon = t.lon.copy()
    lon[200:205] = 118.73
    away = Track(t.device_id, t.t_ms, t.seq, lon, t.lat, t.acc, t.src, t.verdict)
    moved = ReportData(data.report, away, data.zones, data.violation_mask, 1)
    cited = [("W", int(t.t_ms[i]), i) for i in range(200, 205)]
    page = report.render_html(
        moved, HEADER, [AlertEvidence(9, "left_permitted_area", 11, cited)], "zh"
    ).body
    doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    svg = doc.find(".//figure[@id='inset-9']").find(f"{SVG}svg")
    assert len(svg.findall(f".//{SVG}circle[@class='violation']")) == 5
    (edge,) = [p for p in svg.findall(f".//{SVG}path") if p.get("class") == "zone-inside"]
    xs = [float(v.split(",")[0]) for v in re.findall(r"-?[\d.]+,-?[\d.]+", edge.get("d"))]
    assert any(0 < x < float(svg.get("width")) for x in xs), "the city's edge is in view"
