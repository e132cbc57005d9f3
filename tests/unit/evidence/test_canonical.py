"""The canonical encoding: one byte string per record, refusing what has no canonical form."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.canonical import (
    Fix,
    alert_event_record,
    audit_record,
    canonical_bytes,
    content_hash,
    deposit_event_record,
    epoch_ms,
)
from evidence.errors import CanonicalError

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers() | finite | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def test_exact_bytes_of_a_fix() -> None:
    fix = Fix("W-001", 1_764_806_400_000, 7, 118.674, 37.434, 5.0, "gnss", batt=80)
    assert fix.leaf() == (
        b'{"acc":5.0,"alt":null,"batt":80,"device_id":"W-001","fix_time_ms":1764806400000,'
        b'"hdg":null,"kind":"fix","lat":37.434,"lon":118.674,"sat":null,"seq":7,"spd":null,'
        b'"src":"gnss"}'
    )


def test_non_ascii_is_utf8_not_escaped() -> None:
    assert canonical_bytes({"who": "东营"}) == '{"who":"东营"}'.encode()


@given(st.dictionaries(st.text(), values, max_size=6))
def test_key_order_does_not_matter_and_json_reads_it_back(record: dict[str, object]) -> None:
    reordered = dict(reversed(list(record.items())))
    data = canonical_bytes(record)  # type: ignore[arg-type]
    assert data == canonical_bytes(reordered)  # type: ignore[arg-type]
    assert json.loads(data) == json.loads(json.dumps(record))


@given(finite)
def test_float_is_repr_and_round_trips(x: float) -> None:
    data = canonical_bytes({"x": x})
    assert data == b'{"x":' + repr(x).encode() + b"}"
    assert json.loads(data)["x"] == x


def test_integral_float_and_int_differ() -> None:
    assert canonical_bytes({"x": 118.0}) != canonical_bytes({"x": 118})


@pytest.mark.parametrize(
    "bad",
    [
        {"x": math.nan},
        {"x": math.inf},
        {"x": [1, -math.inf]},
        {"x": {1: "a"}},
        {"x": datetime(2026, 1, 1, tzinfo=UTC)},
        {"x": b"bytes"},
        {"x": {1.5, 2.5}},
    ],
)
def test_values_without_canonical_form_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(CanonicalError, match=r"\$\.x"):
        canonical_bytes(bad)  # type: ignore[arg-type]


def test_epoch_ms() -> None:
    assert epoch_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    shanghai = timezone(timedelta(hours=8))
    assert epoch_ms(datetime(2026, 12, 4, 8, 0, tzinfo=shanghai)) == epoch_ms(
        datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    )
    assert epoch_ms(datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)) == -1
    with pytest.raises(CanonicalError, match="naive"):
        epoch_ms(datetime(2026, 1, 1))
    with pytest.raises(CanonicalError, match="whole millisecond"):
        epoch_ms(datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC))


@given(
    st.datetimes(timezones=st.just(UTC)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
    )
)
def test_epoch_ms_round_trips(at: datetime) -> None:
    assert datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms(at)) == at


def test_fix_fields_are_normalised() -> None:
    as_ints = Fix("d", 1, 2, 118, 37, 5, "gnss", batt=80)
    as_floats = Fix("d", 1, 2, 118.0, 37.0, 5.0, "gnss", batt=80)
    assert as_ints.leaf() == as_floats.leaf()
    assert as_ints.key == ("d", 1, 2)


def test_record_kinds_cannot_collide() -> None:
    audit = audit_record(
        at_ms=1, actor="u1", action="read_track", case_id=3, purpose="p", detail={}
    )
    alert = alert_event_record(alert_id=3, at_ms=1, event="raised", actor=None, detail={})
    deposit = deposit_event_record(
        deposit_id=3, at_ms=1, event="paid", amount_fen=1_000_000, actor="u1", detail={}
    )
    kinds = {audit["kind"], alert["kind"], deposit["kind"]}
    assert kinds == {"audit", "alert_event", "deposit_event"}
    hashes = {content_hash(r) for r in (audit, alert, deposit)}
    assert len(hashes) == 3
    assert content_hash(audit) == hashlib.sha256(canonical_bytes(audit)).digest()


opt_float = st.none() | finite
opt_int = st.none() | st.integers(-(2**31), 2**31)
fixes_st = st.builds(
    Fix,
    device_id=st.text(),
    fix_time_ms=st.integers(-(2**53), 2**53),
    seq=st.integers(-(2**63), 2**63),
    lon=finite,
    lat=finite,
    acc=opt_float,
    src=st.text(),
    alt=opt_float,
    spd=opt_float,
    hdg=opt_float,
    batt=opt_int,
    sat=opt_int,
)


@given(fixes_st)
def test_fast_leaf_is_the_canonical_record(fix: Fix) -> None:
    assert fix.leaf() == canonical_bytes(fix.record())


@pytest.mark.parametrize("field", ["lon", "acc", "hdg"])
def test_a_fix_with_a_non_finite_number_has_no_leaf(field: str) -> None:
    fix = Fix("d", 1, 2, 118.0, 37.0, None, "gnss")
    bad = Fix(**{**{f: getattr(fix, f) for f in Fix.__slots__}, field: math.nan})
    with pytest.raises(CanonicalError):
        bad.leaf()
    with pytest.raises(CanonicalError):
        canonical_bytes(bad.record())
