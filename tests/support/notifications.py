"""Sample notifications for the channel tests: real-looking Chinese facts, one builder."""

from __future__ import annotations

from datetime import UTC, datetime

from notify.models import AlertFacts, Language, Notification, Recipient

#: A fix time: 2026-11-22 10:05:09 in Dongying (UTC+8).
OCCURRED_AT = datetime(2026, 11, 22, 2, 5, 9, tzinfo=UTC)


def notification(
    *,
    alert_id: int = 41,
    kind: str = "entered_exclusion_zone",
    person: str = "张三",
    zone: str | None = "被害人住所禁入区（东营区西城街道）",
    mobile: str | None = "8613800138000",
    email: str | None = "duty.officer@dyq.police.example",
    language: Language = Language.zh,
    recipient_id: str = "user:7",
    event: str = "opened",
    case_number: str = "东公(刑)取保字〔2026〕003号",
) -> Notification:
    return Notification(
        facts=AlertFacts(
            alert_id=alert_id,
            kind=kind,
            severity="critical",
            case_number=case_number,
            person_name=person,
            zone_name=zone,
            position=(118.67452, 37.43381),
            occurred_at=OCCURRED_AT,
        ),
        recipient=Recipient(
            id=recipient_id,
            name="李警官",
            mobile=mobile,
            email=email,
            language=language,
        ),
        event=event,
    )
