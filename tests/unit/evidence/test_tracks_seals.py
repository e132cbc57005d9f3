"""Track files read back to the very fixes written; day seals are order-free, DST-safe, chained."""

from __future__ import annotations

import random
from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from evidence import chain, merkle
from evidence.canonical import Fix, canonical_bytes, content_hash
from evidence.seals import day_bounds, local_day, seal_days
from evidence.tracks import from_csv, from_geojson, to_csv, to_geojson
from tests.unit.evidence import world

finite = st.floats(allow_nan=False, allow_infinity=False)
opt_float = st.none() | finite
opt_int = st.none() | st.integers(-(2**31), 2**31)
fixes_st = st.lists(
    st.builds(
        Fix,
        device_id=st.text(min_size=1),
        fix_time_ms=st.integers(0, 4_102_444_800_000),
        seq=st.integers(0, 2**62),
        lon=st.floats(-180, 180),
        lat=st.floats(-90, 90),
        acc=opt_float,
        src=st.text(),
        alt=opt_float,
        spd=opt_float,
        hdg=opt_float,
        batt=opt_int,
        sat=opt_int,
    ),
    max_size=8,
)


@given(fixes_st)
def test_csv_round_trip(fixes: list[Fix]) -> None:
    back, problems = from_csv(to_csv(fixes, world.SHANGHAI), "t.csv")
    assert problems == []
    assert [f.leaf() for f in back] == [f.leaf() for f in fixes]


@given(fixes_st)
def test_geojson_round_trip(fixes: list[Fix]) -> None:
    back, problems = from_geojson(to_geojson(fixes), "t.geojson")
    assert problems == []
    assert [f.leaf() for f in back] == [f.leaf() for f in fixes]


def test_local_time_column_is_in_the_zone() -> None:
    text = to_csv([Fix("d", world.DAY1, 1, 118.0, 37.0, None, "gnss")], world.SHANGHAI).decode()
    assert text.splitlines()[1].endswith(",2026-12-01T00:00:00.000+08:00")


def test_bad_track_rows_are_named() -> None:
    good = to_csv([Fix("d", 1, 1, 118.0, 37.0, None, "gnss")]).decode()
    header, row = good.splitlines()
    bad = "\n".join([header, row, row.replace("118.0", "east"), row.replace("37.0", "nan")])
    fixes, problems = from_csv(bad.encode(), "t.csv")
    assert len(fixes) == 1
    assert [p.where for p in problems] == ["t.csv line 3", "t.csv line 4"]
    assert from_csv(b"device_id,lon\n", "t.csv")[1][0].message.startswith("missing columns")
    assert from_csv(b"\xff", "t.csv")[1][0].message.startswith("not UTF-8")
    geo = to_geojson([Fix("d", 1, 1, 118.0, 37.0, None, "gnss")]).replace(b"118.0", b"NaN")
    assert from_geojson(geo, "t.geojson")[1][0].message.startswith("not a GeoJSON")
    assert from_geojson(b"[]", "t.geojson")[1][0].where == "t.geojson"
    geo = to_geojson([Fix("d", 1, 1, 118.0, 37.0, None, "gnss")]).replace(b'"seq":1', b'"seq":"1"')
    assert from_geojson(geo, "t.geojson")[1][0].where == "t.geojson feature 0"
    fixes, problems = from_csv(header.encode() + b'\n"d\x00\n', "t.csv")
    assert fixes == []
    assert problems


def test_day_bounds() -> None:
    start, end = day_bounds(date(2026, 12, 1), world.SHANGHAI)
    assert (start, end - start) == (world.DAY1, 24 * world.HOUR)
    new_york = ZoneInfo("America/New_York")
    start, end = day_bounds(date(2026, 3, 8), new_york)
    assert end - start == 23 * world.HOUR
    assert local_day(start, new_york) == date(2026, 3, 8)
    assert local_day(end - 1, new_york) == date(2026, 3, 8)
    assert local_day(end, new_york) == date(2026, 3, 9)


def test_seals_cover_each_device_day_whatever_the_input_order() -> None:
    fixes = world.fixes()
    shuffled = fixes[:]
    random.Random(16).shuffle(shuffled)
    seals = seal_days(fixes, world.SHANGHAI)
    assert seal_days(shuffled, world.SHANGHAI) == seals
    assert [(s.device_id, s.day, s.count) for s in seals] == [
        ("W-001", "2026-12-01", 6),
        ("W-001", "2026-12-02", 6),
        ("W-002", "2026-12-01", 6),
        ("W-002", "2026-12-02", 6),
    ]
    day1 = sorted((f for f in fixes if f.device_id == "W-001" and f.seq < 100), key=lambda f: f.key)
    assert seals[0].root == merkle.root([f.leaf() for f in day1]).hex()
    for device in ("W-001", "W-002"):
        own = [s for s in seals if s.device_id == device]
        entries = [
            chain.Entry(
                canonical_bytes(s.record()), content_hash(s.record()), bytes.fromhex(s.link)
            )
            for s in own
        ]
        assert chain.verify(entries) is None
