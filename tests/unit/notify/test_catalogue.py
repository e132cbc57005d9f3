"""The message catalogue: every kind named in both languages, times in the case's zone,
SMS short, Markdown values escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.kinds import AlertKind, Severity
from notify import catalogue
from notify.models import AlertFacts, Language, Notification, Recipient
from tests.support.notifications import notification


@pytest.mark.parametrize("kind", list(AlertKind))
@pytest.mark.parametrize("language", list(Language))
def test_every_alert_kind_has_a_name(kind: AlertKind, language: Language) -> None:
    assert catalogue.kind_text(kind.value, language) != kind.value


def test_every_severity_has_a_name() -> None:
    assert set(catalogue.SEVERITY_TEXT) == {s.value for s in Severity}


def test_chinese_sms() -> None:
    n = notification(zone=None, case_number="DY-2026-003")
    text = catalogue.sms_text(n)
    assert text == (
        "【电子监管】紧急告警：进入禁入区域，DY-2026-003，张三，11-22 10:05，37.43381N 118.67452E"
    )
    assert len(text) <= 70  # one UCS-2 part


def test_english_sms() -> None:
    n = notification(zone=None, case_number="DY-2026-003", language=Language.en)
    assert catalogue.sms_text(n) == (
        "[bailwatch] CRITICAL alert: Entered exclusion zone, DY-2026-003, 张三, "
        "11-22 10:05, 37.43381N 118.67452E"
    )


def test_long_form_has_every_fact_in_the_case_zone() -> None:
    text = catalogue.plain_text(notification())
    assert "时间：2026-11-22 10:05:09 +08:00 (Asia/Shanghai)" in text
    assert "位置：37.43381N 118.67452E (WGS84)" in text
    assert "告警编号：#41" in text


def test_other_zone_and_southern_western_hemisphere() -> None:
    facts = AlertFacts(
        alert_id=1,
        kind="no_signal",
        severity="high",
        case_number="X-1",
        person_name="Ana",
        zone_name=None,
        position=(-70.5, -33.25),
        occurred_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
        timezone="America/Santiago",
    )
    n = Notification(facts, Recipient("u", "U", language=Language.en))
    assert "2026-07-01 08:00:00 -04:00 (America/Santiago)" in catalogue.plain_text(n)
    assert "33.25000S 70.50000W" in catalogue.sms_text(n)


def test_unknown_kind_and_event_are_shown_as_they_are() -> None:
    n = notification(kind="future_kind", event="custom")
    assert "future_kind" in catalogue.sms_text(n)
    assert "custom" in catalogue.title(n)


def test_escalation_is_said() -> None:
    assert catalogue.sms_text(notification(event="escalated")).startswith(
        "【电子监管】紧急告警升级"
    )


MARKUP = "\\`*_[]<>#"


def unescape(value: str) -> str:
    """Read an escaped value back; fails on any markup character left unescaped."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in MARKUP:
            out.append(value[i + 1])
            i += 2
            continue
        assert ch not in MARKUP, f"unescaped {ch!r} in {value!r}"
        out.append(ch)
        i += 1
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40).filter(lambda s: "\n\n" not in s)
)
def test_markdown_values_cannot_inject_markup(name: str) -> None:
    md = catalogue.markdown(notification(person=name))
    line = next(x for x in md.split("\n\n") if x.startswith("**人员**"))
    assert unescape(line.removeprefix("**人员**：")) == catalogue.clean(catalogue.single_line(name))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30), st.sampled_from(list(Language)))
def test_any_names_give_encodable_texts_and_a_one_line_title(
    person: str, zone: str, language: Language
) -> None:
    n = notification(person=person, zone=zone or None, language=language)
    for text in (
        catalogue.sms_text(n),
        catalogue.title(n),
        catalogue.plain_text(n),
        catalogue.markdown(n),
    ):
        text.encode("utf-8")
        text.encode("utf-16-be")
    assert catalogue.title(n) == catalogue.single_line(catalogue.title(n))
    assert catalogue.sms_text(n) == catalogue.single_line(catalogue.sms_text(n))


def test_naive_times_and_impossible_positions_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AlertFacts(1, "no_signal", "low", "c", "p", None, None, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="out of range"):
        AlertFacts(1, "no_signal", "low", "c", "p", None, (200.0, 0.0), datetime.now(UTC))


def test_idempotency_key_is_recipient_alert_and_event() -> None:
    a = notification(recipient_id="user:7", alert_id=41, event="opened")
    assert a.idempotency_key == "user:7:41:opened"
    assert a.key_digest() == notification().key_digest()
    assert notification(recipient_id="user:8").key_digest() != a.key_digest()
    assert notification(event="escalated").key_digest() != a.key_digest()
