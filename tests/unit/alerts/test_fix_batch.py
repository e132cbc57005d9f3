"""Evaluation hands the engine columns built straight from the pings: the same as from ``Fix``es."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from alerts.columns import fix_batch
from alerts.columns import to_fix as _fix
from geofence.batch import FixBatch
from ingest.models import Ping

T0 = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)

pings = st.builds(
    Ping,
    device_id=st.sampled_from(["w1", "w2", "watch-3"]),
    fix_time=st.integers(0, 10**10).map(lambda us: T0 + timedelta(microseconds=us)),
    seq=st.integers(0, 2**40),
    received_at=st.just(T0),
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    acc=st.one_of(st.none(), st.floats(0, 5_000)),
    src=st.sampled_from(["gnss", "wifi", "cell"]),
)


@given(st.lists(st.tuples(pings, st.integers(1, 10**6)), min_size=1, max_size=20))
def test_columns_equal_those_of_the_fixes(rows: list[tuple[Ping, int]]) -> None:
    got = fix_batch([p for p, _ in rows], [c for _, c in rows])
    want = FixBatch.from_fixes([_fix(p, c) for p, c in rows])
    for name in ("device_id", "case_id", "t_ms", "seq", "lon", "lat", "acc"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        assert np.array_equal(a, b), name
