"""The compliance score: one table, every line reachable, every veto firing, and properties."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.kinds import AlertKind
from api.compliance.score import (
    CATEGORY,
    LINES,
    SILENCE_VETO_S,
    TABLE,
    AlertFact,
    Code,
    Facts,
    Line,
    Row,
    render_table,
    score,
)

DOC = Path(__file__).parents[3] / "docs" / "compliance.md"
STATUSES = ("open", "acknowledged", "resolved")
DISPOSITIONS = ("violation_confirmed", "false_alarm", "technical_fault", "excused_by_permit")

CLEAN = Facts(
    coverage=1.0,
    long_gaps=[],
    silence_s=0.0,
    outside_s=0.0,
    uncertain_s=0.0,
    alerts=[],
    permits_not_kept=[],
    forfeited_fen=0,
)


def _alert(kind: AlertKind, status: str = "resolved", disposition: str | None = None) -> AlertFact:
    if status == "resolved" and disposition is None:
        disposition = "violation_confirmed"
    return AlertFact(7, kind.value, status, disposition)


def test_the_documented_table_is_the_code_table_line_by_line() -> None:
    text = DOC.read_text()
    begin = text.index("<!-- generated from api.compliance.score.render_table()")
    end = text.index("<!-- end of generated table -->")
    documented = text[begin:end].splitlines()[1:]
    assert documented == render_table().splitlines()
    assert len(documented) == len(TABLE) + 2


def test_every_alert_kind_has_a_category() -> None:
    assert set(CATEGORY) == set(AlertKind)


#: One input per line of the table that produces that line.
REACHES: dict[Row, Facts] = {
    Row.coverage_below_95: replace(CLEAN, coverage=0.9),
    Row.coverage_below_80: replace(CLEAN, coverage=0.5),
    Row.silence: replace(CLEAN, long_gaps=[(3600.0, 1800.0)], silence_s=3600.0),
    Row.silence_over_24h: replace(
        CLEAN, long_gaps=[(SILENCE_VETO_S + 60, 1800.0)], silence_s=SILENCE_VETO_S + 60
    ),
    Row.outside: replace(CLEAN, outside_s=120.0),
    Row.breach_confirmed: replace(CLEAN, alerts=[_alert(AlertKind.left_permitted_area)]),
    Row.breach_open: replace(CLEAN, alerts=[_alert(AlertKind.entered_exclusion_zone, "open")]),
    Row.strap_unexplained: replace(CLEAN, alerts=[_alert(AlertKind.strap_opened, "open")]),
    Row.curfew_confirmed: replace(CLEAN, alerts=[_alert(AlertKind.curfew_broken)]),
    Row.device_confirmed: replace(CLEAN, alerts=[_alert(AlertKind.powered_off)]),
    Row.alert_open: replace(CLEAN, alerts=[_alert(AlertKind.no_signal, "acknowledged")]),
    Row.uncertain: replace(CLEAN, uncertain_s=300.0),
    Row.explained: replace(
        CLEAN, alerts=[_alert(AlertKind.left_permitted_area, "resolved", "false_alarm")]
    ),
    Row.permit_not_kept: replace(CLEAN, permits_not_kept=[3]),
    Row.deposit_forfeited: replace(CLEAN, forfeited_fen=1_000_000),
}


@pytest.mark.parametrize("line", TABLE, ids=lambda line: line.row.value)
def test_every_line_is_reachable_and_every_veto_fires(line: Line) -> None:
    row = line.row
    result = score(REACHES[row])
    (point,) = [p for p in result.points if p.row is row]
    assert point.points == LINES[row].points
    assert point.veto is LINES[row].veto
    others = [p for p in result.points if p.row is not row]
    assert others == [] or row is Row.silence_over_24h  # a day of silence is also a gap
    if LINES[row].veto:
        assert result.code is Code.red
    assert set(REACHES) == set(Row)


@pytest.mark.parametrize(
    "kind",
    [k for k, c in CATEGORY.items() if c.value == "breach"],
)
def test_each_confirmed_breach_vetoes_and_each_explained_one_costs_nothing(
    kind: AlertKind,
) -> None:
    assert score(replace(CLEAN, alerts=[_alert(kind)])).code is Code.red
    for why in ("false_alarm", "technical_fault", "excused_by_permit"):
        explained = score(replace(CLEAN, alerts=[_alert(kind, "resolved", why)]))
        assert (explained.code, explained.score) == (Code.green, 100)
    for status in ("open", "acknowledged"):
        pending = score(replace(CLEAN, alerts=[_alert(kind, status)]))
        assert pending.code is Code.yellow
        assert "not yet resolved" in pending.points[0].reason


def test_the_money_is_shown_in_yuan() -> None:
    (point,) = score(replace(CLEAN, forfeited_fen=1_000_050)).points
    assert point.reason == "bail deposit forfeited: ¥10,000.50"
    assert point.reason_zh == "保证金被没收：10,000.50 元"


alert_facts = st.builds(
    AlertFact,
    st.integers(1, 10_000),
    st.sampled_from([k.value for k in AlertKind] + ["stay_outside"]),
    st.sampled_from(STATUSES),
    st.one_of(st.none(), st.sampled_from(DISPOSITIONS)),
)
gaps = st.lists(st.tuples(st.floats(60, 10 * 86_400), st.floats(60, 7_200)), max_size=6).map(
    lambda gs: [(max(g, lim + 1), lim) for g, lim in gs]
)
facts = st.builds(
    Facts,
    coverage=st.one_of(st.none(), st.floats(0, 1)),
    long_gaps=gaps,
    silence_s=st.floats(0, 3 * 86_400),
    outside_s=st.floats(0, 86_400),
    uncertain_s=st.floats(0, 86_400),
    alerts=st.lists(alert_facts, max_size=8),
    permits_not_kept=st.lists(st.integers(1, 99), max_size=3),
    forfeited_fen=st.integers(0, 10**8),
)
_RANK = {Code.green: 0, Code.yellow: 1, Code.red: 2}


@settings(max_examples=300, deadline=None)
@given(
    uncertain_s=st.floats(0, 30 * 86_400),
    statuses=st.lists(
        st.tuples(st.sampled_from(STATUSES), st.one_of(st.none(), st.sampled_from(DISPOSITIONS))),
        max_size=20,
    ),
)
def test_uncertain_only_is_never_red(uncertain_s: float, statuses: list[tuple[str, str]]) -> None:
    alerts = [AlertFact(i, "location_uncertain", s, d) for i, (s, d) in enumerate(statuses)]
    result = score(replace(CLEAN, uncertain_s=uncertain_s, alerts=alerts))
    assert result.code is not Code.red
    assert result.score >= 90
    assert not any(p.veto for p in result.points)


@settings(max_examples=300, deadline=None)
@given(base=facts, extra=alert_facts)
def test_adding_an_alert_never_raises_the_score(base: Facts, extra: AlertFact) -> None:
    before = score(base)
    after = score(replace(base, alerts=[*base.alerts, extra]))
    assert after.score <= before.score
    assert _RANK[after.code] >= _RANK[before.code]


@settings(max_examples=300, deadline=None)
@given(
    base=facts,
    outside=st.floats(0, 86_400),
    gap=st.tuples(st.floats(1_801, 86_400), st.just(1_800.0)),
    permit=st.integers(100, 200),
    fen=st.integers(0, 10**6),
)
def test_adding_any_finding_never_raises_the_score(
    base: Facts, outside: float, gap: tuple[float, float], permit: int, fen: int
) -> None:
    before = score(base)
    for worse in (
        replace(base, outside_s=base.outside_s + outside),
        replace(base, long_gaps=[*base.long_gaps, gap], silence_s=base.silence_s + gap[0]),
        replace(base, permits_not_kept=[*base.permits_not_kept, permit]),
        replace(base, forfeited_fen=base.forfeited_fen + fen),
        replace(base, coverage=None if base.coverage is None else base.coverage / 2),
    ):
        after = score(worse)
        assert after.score <= before.score
        assert _RANK[after.code] >= _RANK[before.code]


@settings(max_examples=300, deadline=None)
@given(f=facts)
def test_the_score_is_the_sum_of_its_lines_within_their_caps(f: Facts) -> None:
    result = score(f)
    assert result.score == max(0, 100 + sum(p.points for p in result.points))
    spent: dict[Row, int] = {}
    for p in result.points:
        assert p.points <= 0
        assert p.veto is LINES[p.row].veto
        spent[p.row] = spent.get(p.row, 0) - p.points
    for row, total in spent.items():
        cap = LINES[row].cap
        assert cap is None or total <= cap
    vetoed = any(p.veto for p in result.points)
    expected = (
        Code.red
        if vetoed or result.score < 60
        else (Code.yellow if result.score < 85 else Code.green)
    )
    assert result.code is expected
    assert re.fullmatch(r"[ -~¥]*", "".join(p.reason for p in result.points))
    assert all(p.reason_zh for p in result.points)
